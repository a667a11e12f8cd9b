"""One module per vendor: coordinators, budgets and entity descriptions."""
