"""Questions answered from the footage index (no decoding): find, find similar, journeys, re-embedding."""
