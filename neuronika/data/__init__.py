"""Data loading: CSV files into datasets on a device, and the datasets' shuffling, batching,
splitting and k-fold cross-validation (the crate's ``neuronika::data``).

>>> import io, neuronika as nk
>>> csv_text = "x1,x2,y\\n0,1,0\\n1,0,1\\n1,1,1\\n0,0,0\\n"
>>> data = nk.data.DataLoader().with_labels([2]).from_reader(io.StringIO(csv_text))
>>> data
LabeledDataset(len=4, records=(4, 2), labels=(4, 1), dtype=float32, device=cpu)
>>> [records.shape for records, labels in data.batch(3)] == [(3, 2), (1, 2)]
True
"""

from .dataset import Batch, Dataset, KFold, LabeledDataset
from .loader import DataLoader, LabeledDataLoader

__all__ = ["Batch", "DataLoader", "Dataset", "KFold", "LabeledDataLoader", "LabeledDataset"]
