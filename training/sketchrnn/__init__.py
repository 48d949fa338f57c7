"""Class-conditional Sketch-RNN VAE (Ha and Eck 2018) and the paper's quality-guided latent search (Sec. 3.6).

    data.py           records -> stroke-5 rows (pixels), the scorer's hash split, padded/bucketed batches
    model.py          the VAE (BiLSTM encoder, LSTM decoder with a GMM + pen head) and its presets
    loss.py           reconstruction + annealed KL objective, learning-rate and KL-weight schedules
    train.py          the training loop (checkpoints, exact resume, metrics.jsonl)
    decode.py         one fixed-length decoding loop: sampling, ONNX, straight-through Gumbel-softmax (Eq. 21)
    sample.py         sampling from the prior / reconstruction with temperature, sample grids
    latent_search.py  Eq. 20: gradient steps on z against the scorer's q, through training.torch_preprocess
    export.py         ONNX export of the encoder and of the whole unrolled decode, with a card
    plots.py          loss curves from metrics.jsonl

Train on the 2-core CPU (about 0.55-0.85 s a step with one thread beside another training job; 10k steps,
about two hours), the classes in the shipped scorer's order:

    sketchq-train sketchrnn-train --out runs/sketchrnn-cpu --preset cpu --pad-to batch --threads 1 \\
        --max-steps 10000 --max-minutes 130 --categories mouth eye dog horse cat face radio pig alarm_clock \\
        bird flamingo duck circle scorpion owl monkey butterfly mosquito ant swan square triangle

Continue a stopped run: the same command with --resume (raise --max-steps to train longer). Then

    sketchq-train sketchrnn-sample runs/sketchrnn-cpu/last.pt --out samples.png --curves curves.png
    sketchq-train sketchrnn-export runs/sketchrnn-cpu/last.pt --out models/sketchrnn

The GPU preset: --preset paper --pad-to max_seq_len --device cuda (recurrent dropout 0.1, Sketch-RNN's
full-length pen loss).
"""
