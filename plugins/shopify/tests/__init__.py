"""Tests of the Shopify plugin and its sandbox store."""
