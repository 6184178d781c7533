"""siting: budgeted facility siting."""
