"""Configuration: validation against workflow/schemas/config.schema.yaml, the defaults it
declares (the only place a default lives) and the generated config/README.md."""
