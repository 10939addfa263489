"""The engine (§2–3, Appendix C): networks, objectives, image operators and ROF, the
hand-written step, the one training loop, the one grade loop, and K models stacked in one.
torch only: no files, no runs.

Modules, lowest first (a module imports only those above it in this list, and the
packages below this one):

- ``objectives``            What a network is trained to minimise, seen from its output
- ``data``                  Data as the training loop sees it
- ``jax_random``            The authors' random numbers without JAX
- ``operators``             Linear operators on images, each with its adjoint
- ``nets``                  Network structures of Appendix D, their initialisers, and the parameter vector W of §2
- ``fused``                 A faster gradient for large float32 MLPs on the CPU
- ``native``                Small networks at compiled speed
- ``step``                  The hot loop
- ``rof``                   The ROF objectives of Appendix C and their proximity-gradient step (eqs
- ``training``              One generic full-batch training loop
- ``batched``               K copies of one ReLU MLP trained by GD in one computation
- ``mgdl``                  Multi-grade deep learning (§3)
- ``progress``              Progress of a run where someone watches it
"""
from .._face import lazy_face

# Reached through their modules: fused.gradients, step.gradients; fused.available, native.available;
# fused.eligible, native.eligible; fused.describe, native.describe
# (another module of this package defines or re-exports the same name).

__all__, __getattr__, __dir__ = lazy_face(__name__, {
    "objectives": ("Objective", "HalfMSE", "HALF_MSE", "Shifted"),
    "data": ("Split", "Dataset"),
    "jax_random": ("threefry2x32", "prng_key", "split", "random_bits", "uniform", "normal",
        "authors_he_normal"),
    "operators": ("soft_threshold", "Identity", "gaussian_taps", "symmetric_index", "blur_matrix",
        "GaussianBlur", "FiniteDifference"),
    "nets": ("MAX_LAYERS", "Params", "Widths", "SGDL_STRUCTURES", "MGDL_STRUCTURES", "MSDL_SUBNETWORK",
        "MSDL_SCALES", "StructureError", "parse_structure", "sgdl_structure", "mgdl_structure",
        "format_structure", "parameter_count", "INIT_SCHEMES", "InitScheme", "init_params",
        "clone_params", "widths_of", "flatten_params", "unflatten_params", "Network",
        "sgdl_network", "msdl_network"),
    "fused": ("MIN_WORK", "FeatureMajorBuffers", "FusedGradient"),
    "native": ("SOURCE", "MAX_WORK", "KERNEL_LAYERS", "CHUNK", "FLAGS", "enabled", "small_enough", "NativeGD"),
    "step": ("RELU_PRIME_CONVENTIONS", "check_relu_prime_at_zero", "mlp_forward", "relu_backward",
        "mlp_features", "forward", "loss_value", "gd_step_", "AdamState", "adam_step_",
        "adam_update_", "Step", "GradientDescent", "Adam", "STEPS", "relu_with_prime_at_zero",
        "differentiable_forward", "loss_autograd"),
    "rof": ("Auxiliary", "RofObjective", "ProxGradient"),
    "training": ("MAX_EPOCHS", "MAX_LR", "LR", "EPOCHS", "RECORD_EVERY", "Outcome", "EarlyStopping", "is_diverged", "TrainConfig",
        "check_learning_rate", "TrainState", "Callback", "Recorder", "LossRecorder", "EarlyStopper",
        "TrainResult", "train"),
    "batched": ("BatchedParams", "stack_params", "unstack_params", "batched_features",
        "batched_forward", "batched_losses", "batched_gd_step_", "train_batched"),
    "mgdl": ("MGDLModel", "MGDLResult", "GradeLoop", "grade_loop", "train_mgdl"),
    "progress": ("STATUS_EVERY_S", "progress_mode", "StatusLines", "status_every", "progress_meter",
        "ProgressBar"),
})
