"""Task generation (generate, parse_generated): prompts, the OpenAI-compatible client with its
limits, progress and response cache, the local model server, and parsing of responses."""
