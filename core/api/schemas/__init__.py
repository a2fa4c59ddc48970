"""Marshmallow schemas of the API: request bodies, query strings and responses."""
