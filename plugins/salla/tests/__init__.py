"""Tests of the Salla plugin and its sandbox store; the constants the fixtures share."""

MERCHANT = 4242
TOKEN = "test-access-token"
SECRET = "test-webhook-secret"
