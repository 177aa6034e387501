"""Third-party data adapters behind one interface, and deterministic simulated vendors."""
