"""embed: text to vectors. One ``Embedder`` protocol (``base``); backends for
sentence-transformers (``st_backend``) and its ONNX export run by onnxruntime
(``onnx_backend``, torch-free; the exported graph's operators fused by ``fusion``); several
models as one (``ensemble``); model names (``names``); the export cache keyed by the model's
content (``export_cache``); ``factory``, which picks a backend for questions and for
passages, and where other backends can be registered; and the cross-encoder that scores
(question, passage) pairs, the second stage of ``ask`` (``rerank``).

May import ``core`` only. Heavy libraries (torch, sentence_transformers, onnxruntime) are
imported inside the functions that need them.
"""
