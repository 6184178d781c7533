"""The ``siting`` sub-commands, one module each (``register`` and ``run``)."""
