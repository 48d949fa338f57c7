"""The model side: the model folder as loaded (typed card, checked ONNX file, interpretation of outputs), the
ONNX Runtime engine and its execution providers, the micro-batcher and its queue, the VAE of /enhance."""
