"""The offline path (`sketchq score`, `sketchq clean`, the Ray Data job): whole data sets scored as a stream.

- `records`: one drawing as read (key, file, line, claimed category, strokes) and a bad record's reason;
- `inputs`: folders, globs, .ndjson[.gz], .npz, .bin and Parquet -> shards -> drawings, streamed;
- `scoring`: drawings -> result rows with the service's preprocessing, engine, length buckets and
  interpretation (service.inference, sketchprep: never a second copy);
- `rows`: the output columns (one Arrow schema) and the NDJSON/Parquet writers;
- `shards`: one shard (an input file) scored into a part file, resumably; `run`: all shards, N workers, progress;
- `summary` and `report`: the label-cleansing statistics and the self-contained report.html of `sketchq clean`;
- `ray_job`: the same scoring as a Ray Data job; `cli`: the `sketchq` console script.

No torch on this path: it runs after `pip install -e '.[serve]'`.
"""
