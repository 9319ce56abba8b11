"""The AI SDK UI message stream protocol, sans I/O."""
