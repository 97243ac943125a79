"""ReID engine. Public surface: Algorithm.outer_api."""
import os

# Ultralytics would otherwise pip-install what it thinks is missing at run time (e.g. CPU onnxruntime
# over onnxruntime-gpu) and probe the network; the app must do neither.
os.environ["YOLO_AUTOINSTALL"] = "false"
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "false")
