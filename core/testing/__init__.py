"""Tools for testing Mizan and its plugins: sandbox-store plumbing and the plugin conformance suite."""
