# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The test images
#
# The paper's experiments on images use the clean images of its Figure 4: 'Resolution chart',
# 'Cameraman', 'Barbara', 'Butterfly', 'Pirate', 'Chest' and 'Walnut'. The first six are in the
# authors' public repository and are loaded here by name with `mgdl_core.images`. The file of
# the seventh, 'Walnut', is missing from every public copy of that repository, so it is absent
# from this edition, and so are the Walnut results of the paper's Table 1 and Figure 6.
#
# Each image is read as the authors read it: greyscale, 8-bit pixels divided by 255, giving
# values in $[0, 1]$, with no centring, clipping or resizing.

# %% tags=["parameters"]
profile = "quick"

# %%
# `profile` is only recorded here: this page trains nothing, so every profile is the same.
# %matplotlib inline
from myst_nb import glue
import matplotlib.pyplot as plt

from mgdl_core.images import IMAGES, load_image

images = {name: load_image(name) for name in IMAGES}
glue("n-images", len(images), display=False)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'':4}{'name':<18}{'paper':<18}{'file':<22}{'size':>11}{'mean':>7}")
for letter, (name, img) in zip("abcdef", images.items()):
    info = IMAGES[name]
    size = f"{img.shape[0]}x{img.shape[1]}"
    print(f"({letter}) {name:<18}{info.paper_name:<18}{info.filename:<22}{size:>11}{img.mean():7.3f}")

# %% [markdown]
# The names are those `load_image` accepts; the authors' own name for 'Pirate' (`male`) works
# too. The regression experiments of §4 train on a quarter of the pixels: {glue:text}`n-images`
# images from 256×256 to 1024×1024 give training sets from 16,384 to 262,144 points.

# %% tags=["hide-input"]
fig, axes = plt.subplots(2, 3, figsize=(9, 6.4))
for ax, letter, (name, img) in zip(axes.flat, "abcdef", images.items()):
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, interpolation="antialiased")
    ax.set_title(f"({letter}) {IMAGES[name].paper_name}, {img.shape[0]}×{img.shape[1]}", fontsize=10)
    ax.axis("off")
fig.tight_layout()
glue("fig-test-images", fig, display=False)
plt.close(fig)

# %% [markdown]
# ```{glue:figure} fig-test-images
# :name: fig-images
#
# The paper's Figure 4 without (g) 'Walnut': the {glue:text}`n-images` clean test images,
# in grey levels from 0 (black) to 1 (white).
# ```
#
# The resolution chart is shown as stored, black bars on white. The learning-rate and
# eigenvalue experiments of §5 and §6 invert it first ($1 - x$, white bars on black).
