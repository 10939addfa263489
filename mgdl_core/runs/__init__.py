"""Durable, resumable, many: files that are whole or absent, verified records, checkpoints,
the recorded runner and the runs-folder doctor, worker pools and sweeps, committed results.

Modules, lowest first (a module imports only those above it in this list, and the
packages below this one):

- ``files``                 Files that are whole or absent
- ``pool``                  A pool of worker processes that stops like a single run
- ``checkpoints``           Checkpoints of runs in progress
- ``locks``                 Record locks
- ``numeric_paths``         Which numeric path a run takes on this machine
- ``records``               Durable runs
- ``recorded``              Runs through their records
- ``listing``               What a runs folder holds, a row per run (``mgdl runs``)
- ``results``               Paper-scale results committed with the book
- ``sweeps``                Many runs of one experiment — learning rates and/or seeds — in one call
"""
from .._face import lazy_face

__all__, __getattr__, __dir__ = lazy_face(__name__, {
    "files": ("TEMPORARY", "json_safe", "to_json", "sha256_hex", "seal_digest", "unique_tag",
        "write_synced", "fsync_dir", "atomic_write_bytes", "torch_bytes", "npz_bytes",
        "short_error", "ensure_writable", "json_bytes", "replace_folder", "parse_json", "parse_npz",
        "WriteFailed", "write_failed", "writer_alive", "remove_path", "sigterm_interrupts"),
    "pool": ("STOP_GRACE_S", "RemoteTraceback", "run_in_processes"),
    "checkpoints": ("CHECKPOINT_HEADER", "RunInterrupted", "save_checkpoint", "load_checkpoint",
        "Checkpointer", "check_interval", "RunStore", "FailureWarning"),
    "locks": ("record_lock",),
    "numeric_paths": ("REFERENCE_PATH", "NATIVE_PATH", "PATH_KEY", "path_fields", "cpu_paths"),
    "records": ("RECORD_VERSION", "RECORD_FILES", "hashed_fields", "config_digest", "matching_digest", "config_hash", "git_sha",
        "environment_summary", "default_runs_dir", "record_dir", "write_record",
        "Record", "read_record", "read_summary", "is_complete"),
    "recorded": ("run_recorded", "load_record", "check_runs_dir", "find_record", "kind_folders",
        "run_folders", "RunsCheck"),
    "listing": ("RUN_STATES", "RunRow", "list_runs", "runs_table", "runs_count"),
    "results": ("RESULT_FILES", "RESULT_VERSION", "results_dir", "export_result", "ReplayMismatch",
        "Result", "read_result", "list_results", "load_results", "Replay", "replay_epochs",
        "replay_tolerance", "replay_result", "provenance_text", "result_text"),
    "sweeps": ("BACKENDS", "MAX_WORKERS", "SweepInterrupted", "log_rates", "available_cores",
        "stopping_signals", "sweep", "recorded_sweep", "run_batched"),
})
