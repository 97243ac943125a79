"""Models: the registry (models.json), provisioning, runtimes, and the checkpoint-to-ONNX exporter with its architectures."""
