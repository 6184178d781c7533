"""The demo district: a seeded generator of a hilly district (its end-to-end run is :mod:`siting.workflow.demo`)."""
