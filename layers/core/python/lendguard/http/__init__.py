"""The HTTP layer: the resolver and routes (parse, authorise, map errors)."""
