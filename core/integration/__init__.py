"""The store integration pipeline: platform-neutral data, plugins, connections, inbox, booking, sync."""
