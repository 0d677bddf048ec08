"""User policies (Rego) evaluated beside the built-in rules of every gate."""
