"""Result sinks: one small writer per format (JSON, CSV, annotated video) and the drawing they share."""
