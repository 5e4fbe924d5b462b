"""Classify: model cards (ONNX weights checked by SHA-256) and the stage that scores pictures."""
