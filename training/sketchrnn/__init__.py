"""Class-conditional Sketch-RNN VAE (Ha and Eck 2018) and the paper's quality-guided latent search (Sec. 3.6).

    data.py           records -> stroke-5 rows (pixels) in the scorer's split sets, padded/bucketed batches
    model.py          the VAE (BiLSTM encoder, LSTM decoder with a GMM + pen head) and its presets
    loss.py           reconstruction + annealed KL objective, learning-rate and KL-weight schedules
    train.py          the training loop (checkpoints and metrics.jsonl through training.engine, exact resume)
    decode.py         one fixed-length decoding loop: sampling, ONNX, straight-through Gumbel-softmax (Eq. 21)
    sample.py         sampling from the prior / reconstruction with temperature, sample grids
    latent_search.py  Eq. 20: gradient steps on z against the scorer's q, through training.data.torch_features
    export.py         ONNX export of the encoder and of the whole unrolled decode, with a card

Commands: `sketchq-train sketchrnn-train`, `sketchrnn-sample` (with --curves: the loss curves) and
`sketchrnn-export`; the shipped VAE's recipe and training time are in models/README.md. The GPU preset:
--preset paper --pad-to max_seq_len --device cuda (recurrent dropout 0.1, Sketch-RNN's full-length pen loss).
"""
