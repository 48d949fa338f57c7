"""Class-conditional Sketch-RNN VAE (Ha and Eck 2018) and the paper's quality-guided latent search (Sec. 3.6).

    data.py           records -> stroke-5 rows, the scorer's hash split, padded batches
    model.py          the VAE (BiLSTM encoder, LSTM decoder with a GMM + pen head) and its presets
    loss.py           reconstruction + annealed KL objective, learning-rate and KL schedules
    train.py          the training loop (checkpoints, resume, metrics.jsonl)
    decode.py         one fixed-length decoding loop: sampling, ONNX, straight-through (Eq. 21)
    sample.py         sampling / reconstruction with temperature, sample grids
    latent_search.py  Eq. 20: gradient steps on z against the scorer's q, in torch
    export.py         ONNX export of the encoder and the whole decode, with a card
"""
