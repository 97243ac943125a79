"""The video/image pipeline: detect -> track -> embed (once per track) -> match -> resolve -> sightings."""
