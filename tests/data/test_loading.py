"""The resumable samplers and the trainers' data loader."""

import pytest
import torch

from eadnet.data.loading import PairedBatchSampler, ResumableBatchSampler, make_loader


class KeyDataset(torch.utils.data.Dataset):
    """Items that are their own ``(index, epoch)`` key."""

    def __init__(self, length):
        self.length = length

    def __len__(self):
        return self.length

    def __getitem__(self, key):
        index, epoch = key
        return {"index": index, "epoch": epoch}


def keys(batch):
    return list(zip(batch["index"].tolist(), batch["epoch"].tolist(), strict=True))


def test_sampler_resumes_at_any_batch_and_splits_ranks():
    whole = list(ResumableBatchSampler(10, 3, seed=2, num_batches=9))
    tail = list(ResumableBatchSampler(10, 3, seed=2, start_batch=4, num_batches=5))
    assert tail == whole[4:]
    rank0 = list(ResumableBatchSampler(10, 2, seed=2, num_batches=2, rank=0, world_size=2))
    rank1 = list(ResumableBatchSampler(10, 2, seed=2, num_batches=2, rank=1, world_size=2))
    for a, b in zip(rank0, rank1, strict=True):
        assert not {i for i, _ in a} & {i for i, _ in b}
    epochs = [batch[0][1] for batch in ResumableBatchSampler(4, 2, num_batches=6)]
    assert epochs == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="empty"):
        ResumableBatchSampler(0, 1)


def test_paired_batches_keep_each_pair_together():
    batches = list(PairedBatchSampler(ResumableBatchSampler(10, 3, seed=0, num_batches=5)))
    assert len(batches) == 5 and all(len(batch) == 6 for batch in batches)
    for batch in batches:
        for (first, epoch), (second, epoch_again) in zip(batch[::2], batch[1::2], strict=True):
            assert first % 2 == 0 and second == first + 1 and epoch == epoch_again


def test_loader_gives_the_samplers_batches_and_leaves_the_global_rng_alone():
    state = torch.get_rng_state()
    loader = make_loader(KeyDataset(10), 3, seed=2, start_batch=4, num_batches=5, rank=1, world_size=2)
    batches = [keys(batch) for batch in loader]
    assert batches == list(ResumableBatchSampler(10, 3, seed=2, start_batch=4, num_batches=5, rank=1, world_size=2))
    assert torch.equal(torch.get_rng_state(), state)


def test_paired_loader_draws_pairs_and_keeps_them_in_one_batch():
    batches = [keys(batch) for batch in make_loader(KeyDataset(10), 4, seed=0, num_batches=6, paired=True)]
    assert all(len(batch) == 4 for batch in batches)
    for batch in batches:
        for (first, epoch), (second, epoch_again) in zip(batch[::2], batch[1::2], strict=True):
            assert first % 2 == 0 and second == first + 1 and epoch == epoch_again
    assert len({index for batch in batches[:2] for index, _ in batch}) == 8  # epoch 0: 4 of the 5 pairs
