"""The test kit platform plugins inherit: a store-driver protocol, the conformance suite and the rule tests (a pytest plugin)."""
