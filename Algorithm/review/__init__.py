"""The user's verdicts on what a search found (confirm / reject), gathered from results and stored in the gallery."""
