"""Write PyTorch reference dumps for zhuyi's C tests (read by tests/ref.c).

Format, little-endian: magic b"ZYREF1\\0\\0", u32 count, then per tensor:
u32 name_len, name (utf-8), u32 dtype (0 = float32, 1 = int32), u32 ndim, u32 dims[ndim],
raw data. Run the generating scripts with /usr/bin/python3 (Debian's python3-torch).
"""
import struct

import torch


def write(path, tensors):
    """tensors: dict name -> torch.Tensor (floats saved as float32, ints as int32)."""
    with open(path + ".tmp", "wb") as f:
        f.write(b"ZYREF1\0\0")
        f.write(struct.pack("<I", len(tensors)))
        for name, t in tensors.items():
            t = torch.as_tensor(t).detach().cpu()
            if t.dtype.is_floating_point:
                dtype, t = 0, t.to(torch.float32)
            else:
                dtype, t = 1, t.to(torch.int32)
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<II", dtype, t.dim()))
            f.write(struct.pack("<%dI" % t.dim(), *t.shape))
            f.write(t.contiguous().numpy().tobytes())
    import os
    os.replace(path + ".tmp", path)
    print("wrote", path, "(%d tensors)" % len(tensors))
