"""The platform contract: what a store-platform plugin implements and the neutral data it produces."""
