"""In-tree platform plugins: each connects one online-store platform to the core."""
