#!/usr/bin/env bash
# Rebuild every shipped checkpoint from scratch, reproducibly (seeded), then store their UMAP maps.
# Run from the repository root: bash checkpoints/rebuild.sh
set -euo pipefail
cd "$(dirname "$0")/.."
train() { python -m explorer train --dataset mnist5k --seed 0 "$@"; }

# MLP models: 784-256-128-64-32 for the AEs. The VAEs: 384-192 at latent 32 (wide enough to reach a
# negative ELBO under 108 nats in under 60 s), 256-128 at latent 2.
train --model ae  --latent-dim 32 --hidden 256,128,64 --epochs 150 --batch-size 128 --shift 1 --out checkpoints/ae_32
train --model dae --latent-dim 32 --hidden 256,128,64 --epochs 150 --batch-size 128 --shift 1 \
      --noise gaussian --noise-level 0.4 --out checkpoints/dae_32
train --model vae --latent-dim 32 --hidden 384,192 --epochs 140 --batch-size 128 --shift 1 --out checkpoints/vae_32
train --model vae --latent-dim 2  --hidden 256,128 --epochs 100 --batch-size 64 --out checkpoints/vae_2
# Its plain twin, trained alike: with two numbers a code space is a plane, so AE vs VAE needs no projection.
train --model ae  --latent-dim 2  --hidden 256,128 --epochs 100 --batch-size 64 --out checkpoints/ae_2
# Convolutional models: stride-2 convs down, transposed convs up. The ConvVAE underfits with one
# conv per scale (104 nats after 150 epochs): a 3x3 conv more at each scale and a higher learning rate,
# decayed to 0, bring it under 100.
train --model conv_ae  --latent-dim 32 --channels 32,64 --epochs 60 --batch-size 128 --out checkpoints/conv_ae_32
train --model conv_vae --latent-dim 32 --channels 32,64,128 --convs-per-scale 2 --epochs 200 --batch-size 128 \
      --lr 3e-3 --shift 1 --cosine --out checkpoints/conv_vae_32
# The Train page's beta ladder: three MLP VAEs alike but for beta (the page's defaults, 40 epochs).
for beta in 0.5 1 4; do
  train --model vae --latent-dim 16 --hidden 384,192 --beta "$beta" --epochs 40 --batch-size 64 --lr 2e-3 \
        --out "checkpoints/vae_beta_${beta/./p}"
done
# Beyond the Gaussian (issue 14). The judge of generated digits: a small CNN (2 convs, 128 features).
train --model classifier --channels 32,64 --hidden 128 --epochs 15 --shift 2 --cosine --out checkpoints/digit_judge
# The conditional VAE: at beta 1 its code kept part of the class for long (the decoder then ignored the
# class asked for); beta 2 pushes the class out of the code, so the class given to the decoder decides.
train --model cvae --latent-dim 16 --hidden 384,192 --beta 2 --epochs 120 --shift 1 --cosine --lr 2e-3 \
      --out checkpoints/cvae_16
# Diffusion priors over the codes of ae_32 and vae_32 (trained after them: they read their codes).
for base in ae_32 vae_32; do
  train --model latent_diffusion --base "$base" --latent-dim 32 --hidden 256,256,256 --epochs 120 --cosine \
        --lr 2e-3 --out "checkpoints/diffusion_${base}"
done

python -m explorer map checkpoints/ae_32 checkpoints/dae_32 checkpoints/vae_32 checkpoints/vae_2 checkpoints/ae_2 \
    checkpoints/conv_ae_32 checkpoints/conv_vae_32 checkpoints/vae_beta_0p5 checkpoints/vae_beta_1 checkpoints/vae_beta_4
python -m explorer list
