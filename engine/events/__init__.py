"""Wire schemas: the envelope, inbound and outbound payloads, and the type registry."""
