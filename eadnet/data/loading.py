"""How the trainers read their datasets: batches of ``(index, epoch)`` keys in a seeded order that starts at any
batch number (`ResumableBatchSampler`), so that a run resumed from a checkpoint sees exactly the batches an
uninterrupted one would, and the `torch.utils.data.DataLoader` over them (`make_loader`)."""

from __future__ import annotations

from collections.abc import Iterator

import torch

__all__ = ["PairedBatchSampler", "ResumableBatchSampler", "make_loader"]


class ResumableBatchSampler(torch.utils.data.Sampler):
    r"""Batches of ``(index, epoch)`` keys in a seeded order, starting at any global batch number.

    Global batch ``b`` belongs to epoch ``b // batches_per_epoch``; each epoch is a fresh permutation seeded by
    ``seed + epoch``. With several processes, global batch ``b`` holds ``batch_size × world_size`` items and process
    ``rank`` takes its own ``batch_size`` of them, so the processes never see the same item in one step.

    Args:
        num_items (`int`): Dataset length.
        batch_size (`int`): Items per process and batch.
        seed (`int`, *optional*, defaults to 0): Order seed.
        start_batch (`int`, *optional*, defaults to 0): First global batch (the resumed position).
        num_batches (`int`, *optional*): Stop after this many batches (default: never).
        rank (`int`, *optional*, defaults to 0): This process.
        world_size (`int`, *optional*, defaults to 1): Number of processes.
    """

    def __init__(
        self,
        num_items: int,
        batch_size: int,
        seed: int = 0,
        start_batch: int = 0,
        num_batches: int | None = None,
        rank: int = 0,
        world_size: int = 1,
    ):
        if num_items < 1:
            raise ValueError("the dataset is empty: no clip is long enough for one training window")
        self.num_items = int(num_items)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.start_batch = int(start_batch)
        self.num_batches = num_batches
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.global_batch = self.batch_size * self.world_size
        self.batches_per_epoch = max(1, self.num_items // self.global_batch)

    def __len__(self) -> int:
        if self.num_batches is None:
            raise TypeError("an endless sampler has no length")
        return int(self.num_batches)

    def batch(self, number: int) -> list[tuple[int, int]]:
        epoch, position = divmod(int(number), self.batches_per_epoch)
        order = torch.randperm(self.num_items, generator=torch.Generator().manual_seed(self.seed + epoch)).tolist()
        first = position * self.global_batch + self.rank * self.batch_size
        return [(order[(first + j) % self.num_items], epoch) for j in range(self.batch_size)]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        number = self.start_batch
        while self.num_batches is None or number < self.start_batch + self.num_batches:
            yield self.batch(number)
            number += 1


class PairedBatchSampler(torch.utils.data.Sampler):
    """Expands each batch of pair keys ``(k, epoch)`` into the pair's two items ``(2k, epoch)``, ``(2k + 1, epoch)``
    (of a paired [`~eadnet.data.syncnet_dataset.SyncNetDataset`]: in sync, shifted) so that a pair never straddles
    two batches.

    Args:
        pairs ([`ResumableBatchSampler`]): Batches of pair indices.
    """

    def __init__(self, pairs: ResumableBatchSampler):
        self.pairs = pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def __iter__(self):
        for batch in self.pairs:
            yield [(2 * index + member, epoch) for index, epoch in batch for member in (0, 1)]


def make_loader(
    dataset: torch.utils.data.Dataset,
    batch_size: int,
    *,
    seed: int,
    start_batch: int = 0,
    num_batches: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    paired: bool = False,
) -> torch.utils.data.DataLoader:
    """A loader of ``num_batches`` batches of ``dataset`` from global batch ``start_batch`` on, in the order of
    [`ResumableBatchSampler`]: a trainer resumed at update ``n`` passes ``start_batch = n × accumulation`` and gets
    the batches the uninterrupted run would have had.

    Args:
        dataset (`torch.utils.data.Dataset`): Items addressed by ``(index, epoch)`` keys.
        batch_size (`int`): Items per process and batch.
        seed (`int`): Seed of the order (and of the loader's own generator).
        start_batch (`int`, *optional*, defaults to 0): First global batch.
        num_batches (`int`, *optional*): Batches to load (default: endless).
        rank (`int`, *optional*, defaults to 0): This process (``accelerator.process_index``).
        world_size (`int`, *optional*, defaults to 1): Number of processes (``accelerator.num_processes``).
        num_workers (`int`, *optional*, defaults to 0): DataLoader worker processes.
        paired (`bool`, *optional*, defaults to `False`): Items ``2k`` and ``2k + 1`` form a pair that every batch
            holds whole (a paired `SyncNetDataset`): the order is drawn over the pairs, ``batch_size // 2`` of
            them per batch ([`PairedBatchSampler`]).

    Returns:
        `torch.utils.data.DataLoader`.
    """
    group = 2 if paired else 1
    sampler = ResumableBatchSampler(
        len(dataset) // group,
        batch_size // group,
        seed=seed,
        start_batch=start_batch,
        num_batches=num_batches,
        rank=rank,
        world_size=world_size,
    )
    if paired:
        sampler = PairedBatchSampler(sampler)
    # The loader's own generator: creating its iterator must not draw from the global RNG, or a resumed run
    # (which creates it after restoring the RNG) would diverge from an uninterrupted one.
    generator = torch.Generator().manual_seed(seed + start_batch)
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, generator=generator, num_workers=num_workers)
