"""The demo district (seeded generator) and the end-to-end demo run."""
