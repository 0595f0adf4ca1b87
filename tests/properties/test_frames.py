"""(2) DataFrames of every common dtype round-trip exactly (any backend); ours stores each as one Parquet object."""

from __future__ import annotations

import base64
import zlib

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow_io import load, store, through_db
from hypothesis import Phase, example, find, given, settings
from hypothesis import strategies as st
from strategies import FRAME_DTYPES, contexts, frames
from xcom_compat import XComContext

from properties.budget import share
from properties.checks import assert_frames_identical, frame_round_trips
from properties.stored import object_key, reference

CTX = XComContext(key="return_value", task_id="t", dag_id="d", run_id="r", map_index=-1)
PARQUET_MAGIC = b"PAR1"
#: What the DB may hold for a frame: a reference, whatever the frame's size.
MAX_REFERENCE_BYTES = 1024


@given(frame=frames(), ctx=contexts())
# Regressions: object-dtype strings (pandas 3 reads them back as "str"), an empty categorical (categories
# lost), rows without columns (the row count is lost), an all-missing object column and a period column (both
# crashed the dictionary-encoding choice: Arrow has no count_distinct for null or extension types).
@example(frame=pd.DataFrame({"s": pd.Series(["a"], dtype=object)}), ctx=CTX)
@example(frame=pd.DataFrame({"c": pd.Categorical([], categories=["a", "b"])}), ctx=CTX)
@example(frame=pd.DataFrame(index=pd.RangeIndex(2)), ctx=CTX)
@example(frame=pd.DataFrame({"o": pd.Series([None, None], dtype=object)}), ctx=CTX)
@example(frame=pd.DataFrame({"p": pd.period_range("2024-01", periods=3, freq="M")}), ctx=CTX)
def test_frames_round_trip_exactly(backend, xcom_s3_env, frame, ctx):
    """Any backend: every dtype and index variant comes back identical through push and pull."""
    xcom_s3_env.new_prefix()
    frame_round_trips(backend, frame, ctx)


PANDAS_MAJOR = int(pd.__version__.split(".")[0])


def every_common_dtype() -> pd.DataFrame:
    """One column per common dtype (missing values included), on a named integer index."""
    moments = ["2024-01-01 00:00:00", None, "2024-01-03 04:05:06"]
    return pd.DataFrame(
        {
            "int8": pd.Series([1, -2, 3], dtype="int8"),
            "uint64": pd.Series([1, 2, 2**63], dtype="uint64"),
            "float32": pd.Series([0.5, None, 2.0], dtype="float32"),
            "float64": [0.5, None, 2.0],
            "bool": [True, False, True],
            "object": pd.Series(["a", "b", None], dtype=object),
            "string": pd.Series(["a", None, "c"], dtype="string"),
            "Int64": pd.Series([1, None, 3], dtype="Int64"),
            "boolean": pd.Series([True, None, False], dtype="boolean"),
            "datetime": pd.to_datetime(moments),
            "datetime_tz": pd.to_datetime(moments).tz_localize("UTC"),
            "timedelta": pd.to_timedelta([1, None, 3], unit="s"),
            "category": pd.Categorical(["x", "y", "x"]),
            "period": pd.period_range("2024-01", periods=3, freq="M"),
        }
    ).set_axis(pd.Index([10, 20, 30], dtype="int64", name="row"))


def frames_before_the_layout() -> dict[str, pd.DataFrame]:
    """The frames of OLD_OBJECTS, built by the running pandas with the writer's units: pandas 3.0 infers seconds
    for ``to_timedelta(unit="s")`` where 3.1 infers microseconds (2.x: nanoseconds)."""
    common = every_common_dtype()
    common["timedelta"] = common["timedelta"].astype("timedelta64[s]" if PANDAS_MAJOR >= 3 else "timedelta64[ns]")
    return {
        "every-common-dtype": common,
        "no-columns": pd.DataFrame(index=pd.RangeIndex(2)),  # xcom_s3.range_index
        "empty-category": pd.DataFrame({"c": pd.Categorical([], categories=["a", "b"])}),  # xcom_s3.empty_categories
    }


#: What the writer before the layout (issue 14) wrote for frames_before_the_layout(), on pandas 2.1.4 / pyarrow 21
#: and on pandas 3.0.6 / pyarrow 26: base64 of zlib of records (4-byte size, 24-byte name, the Parquet file).
OLD_OBJECTS = {
    2: (
        "eNrVOktsI9lxTY6Gq50ou7NjkysGwkCQPcIsPDMiKVIrOnSy3RSbIlfkiNSo+VmsZbLZoih1N2l+RQ0mcG6OYQQOkIMdxEaQwx4CI4AN2Ahy"
        "yiEnwwhySZDjIjB88MkIktsmm3q//reW2l3/GiLZr6peVb169arqvSeO+9wfKFNlOH8s9zWtrz/ujOcDZR0/h3w1HubCnw/vPAqH4CUUDq2t"
        "Lt3iOG516f8+/PDDCPfQ0oKXhz/a+t/1e3/BcUFohAIB+EYYRAPdM+Fdk88O93CZI8/XVpcDnPFgHve/y3F1xiTIfS3Ivf9+YBCAvmvhJ1Zl"
        "gOQt/P3HkeBDS4sxeuWrRJlbtyn0Lej6KPxHFh5MjbfY2/uIlweU8Yz8wMKTYTjK+5XwuoV3ILAa4MBM+Jf1fynNDHQb6NbDCYtVgg8D7dVA"
        "i5He/VMq6hbq3kJfba8+slef20Yf2T3oW1Rn0/Zo0G6oe9AMw2h9Bh30HjT095iB//7Fg7/5x/deR7ZWAq/ffe91PAMuqNcMUAyl/TXz/vK/"
        "/pCYi/vJX/0hM6Ib6sGbYShteCn82fDmAfxw9yjxnQrHIftdoq85yLwX/jwSfpetn8B8NXDJWL9cMFbdrSBebKJV028E2cR+nb6BV3pAjQX4"
        "bxz3LcIPUH/GCIPcF95oDpbc/O8bjnOHM/m7oR7873Cf5RhhkPsKXudL0Q/uprjV0Eg+U7RW+D4XDj4Iri719PHug/sH3//M8mvYZgALTQC4"
        "k3ywBtC37iHoMkBfOlX7rfF2ggvfMVo7SXBVxKXd76tceAV17rfPFXn8gDtYQz0xaDQe9vQuAyERtwu60fkl1Flp6QSz3GmNlXFPU9Rv3lvL"
        "kNWA4L/H4CfjK/Wbr1lRLyNwR1HHLSJvWQbSbn84t0oMDZRhr98hjVvD/oyLhKJr0Q9e3eTWwsHogxAXJcYIr0RCkT+JfCuwuZy5JjJH18Jo"
        "mQa5zBuh6CYXAgzitEQ4URNiXn8eiHwjsPntQMYnPvtwWiacmNkxq2nk64HNvw1mrgnSdm7BJcrtjpUbVey9QOQfApt/dytzg3jtw56jBkRT"
        "iXkfRtqb/7mUcURrn6GuUKMR18H9pcjZ5j/fzhjB2+wZWYpaJbO+xMeMvt8PZYwg7tuXThZxRotJ/vKlzA2i+fUmYd5tWOWnyxlHOPdhQLUz"
        "FoRFwb9/OXODKHw9f+vCsoj4+Z1PT4S5QC0CvreSuUG09xGwEk1xobtRc8ljAZeRv4YF98rmv/++GdOjj1AiAAbwdRf7QijqtXBJmMBsfhyI"
        "/FNg879eydwg1l8fFlDcsbD+4d3MDcK8B+vIL1+NhDaXI794DcYHurf0Tmu0+vNXn2/09I5yeSL31Ymmjza+uP7OBojeePfR+gaBnWACBaOe"
        "b+gtTYE3faKqQHHaU9TOiR1GWJ+gQhaAGxO9J/c7ygZg9Ik2mBsIsoQRXFPGLXCtFkCfbyg6kMP6RCTHz8THuxsvXpjK2LXYQFF4w6mHAXVo"
        "wsB2NRjUogQayItH66YYEqLdgky4c9AGwi7MhF8njsZxtzwLwiHQgrFLtCA+UqTXEC0IL5Feg7QgrhOJop1bHoM6hDGwXRKDXifGdDO7IBP+"
        "iRzWJY9kF7c8E76oPLPHdfIK3q5Z8PFMH8cs6AvOGOQn70mjiIXnjdJfJ4+lG7dAK8Yh0YqyS2WYneQ7+ujdRYVDrvOXT5E+KhDkDZR4voFQ"
        "V31dIdEvC7HPqpORHN0a2VAOfUzHteti9FnMIixxuoVbMQ7ZFNWTW+pCsfc5IjlhvXDWSQBFf9hRhkoHWqctdaTYzUISsVstE76gQUiHd0of"
        "aQqUIV3iKHCxBeebCHCuGyqtcX+IzaH22sMWmBapN28NqZCpMhz1+jqCJuJPYk9iGy9M0Vbkk/iT5MYLbnWFr1af1r5ItnSr769voSfGl3ie"
        "r/DkeZvnk7zQ5UWe7/LZLoYJgg0/Q785Ay9UCqTNuOCvXBpYp3mZtvc0Abop8+KgrVVVRUyftxOX8XYtdVU473dr8+K8vS336kezbkErT9v7"
        "0ritpgltXiI026NeWxPHzaPCTiGfirfzs1EhW9RaNWnUFNOTRi2uIrq2Lo3aWeCjC2fQ/0yOp2NKXcC4gi5NWrXytJk/7h1k+R7QjuV99bSz"
        "r84w32xx2tAGamO7QvA1KdaoVc86+VzvaU94s6BJk0YifdGqpXTMT5WOq71YsqDH0zbd9RKib8N4Db0Kmjrp7HUx36amqu189dQYTxbsoleS"
        "hZ6P3pa+HjqbfbW42smLF4169cywxX5sVNi32C5bjIP+sfJ5xU8XG17Oi5NmXryqb1dTMtjtaY/vdWpIn0aMyIS5qAspf/xCOmntfPqss1ea"
        "kz7NQbN2eVFPpM7aNcKzqV1OG/XKValXQPM+a9RSwLNstYODh1svB49xE3SCscUahk9dpg+yaJ5dchPlbMHT30DXUTshXmsvB49JpxafKZJ1"
        "fu08HH4H9JejU/Avuz8Vp+3EzG8Oe+1EeuTvT2ZfD38y+y42d7Y146GLDe/tT6kBWldA72OfdK+lSeed7OLzJm9X53id+viTDf/xYsVVZx/F"
        "M3nxObuwrgu3Tkcfse6s69JDnyLEAeZjC9mooaWn7bx01u75+Tbyk0u1UUv66oR5+Pq1vf9ifo3wUqyF2n6xAMYF4xugtu+ac9B42Av5Nfi3"
        "Om4+a8RqidRV/egGccHgLwHPvp/vmzKQXfxjl0lXr+74xi9zTImyOJ7I8Zh3ntKxXjvtREpleaoyL6ZdtiZ0F2BfNFZvH3DTeOlvz5tuW+P5"
        "bOalEeh4ne4+PlFGPqG3t4spP59oQPxs1jpTWb/w91VGo6nnjdrsxvkU6QQ+fmrho8pz6LOH7QLtqipr0gWibWriSE5IHjYXgEadNv3yiR3/"
        "cWw9a9ZhDIlq+5l0AxvrxWln7qeTgfPSZ2CJOx4x4KNqgXgH6djYLqoAn8o94InyS17tyZo4V+iYlJo4l7X0NonXTVXWyzDGJJ7X0nluUsom"
        "ZwU9ZtdRk+ZyQp22Ec9sYX4AdOVsMQ0FaR4VqcxH4PUQtWeoFN7v7kFRi8vcHGo/5bM8n41Bucv3eCh1xQq0+T5qp1HZ+/YMiIUkKnPfRm2R"
        "51k9fH54tbWFyuVKARfF+2aRTB6E2wfbzhDjJBK0j+pq+giMMtflGwgOdfk+rb8rCJtjpJXCMfoZ4gYGHptCGogV9QnEEZXrQgkLQF+lZ1Cp"
        "78pGm49hemLD0kTOS5An0xcIg4eWE4+OL9L1p5qUhDU5wfY9H2Bf4an8PbY/wExnhj32kHiY26ZeVGUyr2WYM6YkX5GKR8/i8k6zfgbrK3UF"
        "cidPLT6D2YvnsLXYNe0j4MksIBYCmkAB68lMJwhV/Io7FB32x/rlzdjC9M9SuqxBn51tnW5tkSayb7a0NYX9zeE2md+q9/xm8Xgt8RO1xTe/"
        "QPQv8cXDN6l/9Cue+iFc3syHEMt2qH3zpp7Yj3KGP4kQ62dCH+mHxp8lVrPML36QE/CWfEJmfkr1mWUbrL9wZjiRtT8eqlE/dIUG2krOjPEQ"
        "e+Qd48ETliPxALVHjJ4uml2j/7F3f2T6/XIM4uOkOUP9Qejl+RaxZ07MGUTUHqb/s5jJ8+VzvDNF+lrG57RPzhif0a4QfP6KydvzlodYCXQv"
        "AuMsH1D6Aq8hffH4ShVjEqzjw/NN9gKlqwI1AV73eUbClwz52ZzhxK7xsj0cs1sB69+17NQF7N95pO8eHbzBhM6fSz+sEd6LsvVTwvrNKKmx"
        "PsjDra4PWsOvTpTxY3kweIwPLtbpwcQ6ObKIfvDqGsct/sd95z7Hof+K4bjQgd5/TG8E1m0P/a8Z/K8CS8YFecC4I+EsNyduqPNfBZaMqzv2"
        "El6KPrLcjQfJLfFrJ+SW5ERVpop6Ejs54SJL0bXomuVGx00TXoks0Suu5cwNlHRc76AbLsRmaXMZWHHRjHG98z9Br+sdlx6f3mXPxzrs8rjY"
        "8ZLoofdv7WnbZy7lvnYy2n4ybOldhei9Gn4n9ggdZsYf0fGNhxPlXefR3H+E8NHcdjf7iY7mDvGKzRlVgaU0maFQNK8YbRGnptEMSrE5fC5h"
        "u4PLRPiNybqk1iusahCSsFUf17dLVwd6EbbNHbWegHCcl5Ku1F+oGPI7lRxO/RCWLiC9QwmdHkGpOMHlszjq1eNpdjQ4atabalvcndXju7/6"
        "I0Ht+qMs25bbq4yWcMlpP85cUK+Cmj5l9oA0moAS4bQkpk+vPwb85LrCFgXg6Tnd0oxateK8UYetFdl+pOAdH8ciPs4SunSUnB2c8z20fbDo"
        "mIDyEpdrmMd5YQJ0MVraOUttwUj4pFQzSzeWZ1m2Ial55EjNVfTl4y80a818SukvfWmRlLSG8szPbrM8c2eqaIPx/DG74HDkGZRg7h2gYMz+"
        "bQzlCXeKQP9qFJDp/xhFOJYYVqIPuFAUMJAIuMha5Mkmt7n8xhr97wMOgQAQeWIN6f9yyyOkP9+4ABi+g0DxBsc/WyAdjVvDMTRj+L0/MF4V"
        "9Bp/8btx2y973Dz9Gq+cfkW5YpXlCuxqFj1WfwRzHUO0NCPwvCPie2SEEi3OCnTlFMwVlDM2hzn869xUGvWv6F1c9hGnc3RY1UykYWMoXdmK"
        "Y/zsYVU12xaWR5mhhld6hazQPQoW6OYiz1ufPmqX6CbsbQR5Zg4iy9ufPX6Bx0JUceyDeEfdn/Xn4sDnxR57xYOekTDjvmz79grGJ7u5T5jR"
        "92wZ/bBrZNg82jztmhl3TDNuKYsj9/Rgvjs9uCrrlWNRqEjwOSafo5godGJithkT89AGPKU5FrOVC1F4Rt734FMk8CJ8VNL/gvCoEhqJ4CXg"
        "D59aR6hoHeEoh/kjfJX0ZbKlfNXkjX5FEwefWhrr0FLVxrF22Sqdq6mG1KkpF0yGKZ98KmSMiThpq1acmINPHT5N0KGK9a93hGqO4atZgkPv"
        "HcGmB3zaMXEffstkDGWAjTFcylE72cdh+5gyFv1Ube1jO77oKeMa+Y4PtXHZCtuvaqrZPtrFdqRzJhwe4QMzsj73z6DSiZ/KV6VJsxafdfZV"
        "+2HojDcyMIk7yEn3ZOTR5LApiQ7L3kSVDKoY6wnXhekQVUT00BFXl7TaoQe9rCrFFzhnsl5Blc+Mtqcy8vU9foQvZ/LSDPEp1ekBI604WbXa"
        "rLsvaY1K0XXAbJH7aV9goQOxWgrsWsWXSYifJFXzB8+6vVOH7qRaHtsvcfwObbXSb9dB+G+k+mxYDzOd+c92qIrzoSX/iWbmcx4O4dfGzOuw"
        "cOZbgTI6wZZPb1CRHt0hFen/AyK/YSc="
    ),
    3: (
        "eNrVOktsI8l1TY6Gqx0rszPjJSECwkBRPMIsrBmR1GeGhjbZJsXmZ0XOkBo1P4OFzP6IpNTd5PIrcjLAJof8YCySwEcb8MkHwwf7kMAIcjHg"
        "g5FjACO5BNhz4FNy3WT9XlV/2d1aaneziAm12FXv1fvVq/deVZFh/mgoj+X+9JHYVdWu9kgaTnvyOvk8ZyvxMBP+Vnh/KxyCl1A4tLa6dINh"
        "mNWl//3ss88izENb6+5deH34D9v/s37v7xgmCI1QIAD/EYZYQOAg/NSitM88XGbo56PV5YD+alG5/0OGqRlkgsxHQeaTTwK9AIxeCz+2CwQo"
        "75H/fxIJPrS1LFK3P6QC3biJ/YgBg7fCf2yjYojynvH2CVLz6LWoRn5uo0pgBjYQvR1et1EPBFYDDJiLfFsU3kgahroJmOvhhM06wYcBYTXQ"
        "tJDv/JnO7gbaqon/BK9Roveom+Yo0a38DV1yax5QeXevl/IGzMD2UT7opzxQcAv00Y9e/iJ4OwSsmfU/vPNvfxAiArl7PWdDhxnYXzf1r9SY"
        "S+G3w5tH8MXc05FvlRkG0S7x3xS43gt/C9nfMVZVYLoauLSIv5k3V+ONIFmEnF3avwkacv2V/gZ+6tFrW5i/YZi/pRQB+NcGapD59juN3pKb"
        "w31T81uMxcHd68nhFvM2Y6AGme+SCLAU/fTOHrMaGohtWW2G7zPh4IPg6lJHGz59cP/op99cvkssB32hEXTu7z5Yg9737mHvMvS+caZ0m8Od"
        "BBO+Zbb2d2EmkYrQ7SpMeAUHd4VzWRw+YI7WcCTpGgz7Ha1ldCGLm3nNHPwGDpabGoUsS82hPOyo8oO3j753b21Ln1CAfMOAnA5nCLxrB76J"
        "AElWhk3Kc1kE5Fa3P7VzDfXkfqcr0caNfnfCRELRteinb20ya+Fg9EGIiVKDhFciocifByLfD2wuH1wZvKNrYXTmIHPwTii6yYQAhsSWKDHd"
        "koTc3wciHwc2fxA48A3hPrSWKS3D/oTYLPK9wOZPggdXxnEnveCSTu+WnZ4u3E8CkX8ObP7jjYNrhXQfBoxuSZxXQv1F5Gzzv5YOXAHdR+EV"
        "3XjUkwiFRkTZ/PebB7b4bo2NLEXt3I3R1OnM0b8KHdjivO9ofeKof9pM87M3Dq4Vo642jeHypnV+u3zgivg+JHQJzXViE/Jf3zy4Vpi+moN9"
        "vdmYfPyNr5KJtW5tLP5l5Ssx9kp0jwndiVqxgLD408iPApu/vr35F7ftYT+6hdkCSMC/O8QvQlGvBU0jCCH0T4HIrwKbP37r4Frp4OqAgUHJ"
        "Rvw/7xxcKxN4EI/89E4ktLkc+fE90BHkb2pSc7D632+92uhoknx5KnaVkaoNNr6z/nIDmG98sLW+QftOCYJMQK82tKYqw5s2UhTAOOvIinTq"
        "7KOkT7EShs6NkdYRu5K8ARBtpPamJgAWJnaq8rAJHtaErlcbsga4sFwRfvKCe/R04/VrSxKnCBsYoTfmhTB758Qwup0yGL02IVCL11vrFhsa"
        "u92MrP55jU2Ak5nVfxU7Pby7+dkAcwxtECdHG+BzWXqpaAN4sfRS0ga4iiUGPjc/o3eOmdHt5GT0XsWGpg43I6t/UW+1RlzFjyYbNz+rf46f"
        "Rda1OPQBV7HLe3tm3scxffwyry04YZCpvOdMByw8bTr+VfyMpONmaIfMcbSDnFwNyP7uy9Hgg0WZQ8bz568DfUSgwGsI8WoDQbOuJtPgl4bQ"
        "Z5fJTJBuiRygBR3MHAPCfL5BjMzp5m2HzLHWQR2xqSwUeV8hyqkxiiScBGB0+5LclyVonTWVgey0Cs3DbrGs/gXtQQe8LH6uKTA5utjpnYut"
        "N980gJmuOYSVL4yGRP1XrzH39eXmsNsnBlI6Qr8JxkaBp82+znYs9wedroa9if3HscexjdeWMDbgDsD2N14zqytspfKs+h26BVz97fo2fmKt"
        "IsuyZZZ+3mfZXTbVYjmWbbHpFulLpRzwCX5nTHiazdO2QQX/He4mx9vbiKO3ZykYJk8LPUGtKDKXPBcSl3GhujfLn3db1WlhKuyIndrxpJVX"
        "S2Mhxw8FJUlxszzF2Rl0BJUbNo7z+/nsXlzITgb5dEFtVvlBg0uO6tW4gniCxg+ENNDRUm0Y3xbjyZhcSxFYXuNHzWpp3MiedI7SbAdwh2JO"
        "OZNyyoTQTRdmUi5PYVU+Vq9W2lI203nWST3Jq/yonkheNKt7GqGl8CeVTmw3r8WTDrm1IuILoKspU15VRtJhi9BtqIoiZCtnpi5psIlW3s13"
        "fGS2jfWQ1xqrxhUpy13Ua5W2aYdcbJDP2eyWLsRB/ljpvOwniwMuZrlRI8vNajuVPRFs9qzDdqQqylOPUZ4wD7XUnj98IZlUIZtsS4fFKR3T"
        "6DWqlxe1xF5bqFKaDfVyXK+VZ8VOHud8Uq/uAc2S3Q5zNNxyzdEYNkAm0C1WN/3pMnmUxnl28U2U0nlPXwNZB0KCu9JeczRGUjU+kXn7/Dpp"
        "zPkd4F8OzsC/nP5UGAuJid8cdoREcuDvT9ZYD3+yxi42d+O62lPqO77+5IB7+9NeD9cV4PvYJ9lpqvy5lF583sSdypSsUx9/csA9beTg6ZZJ"
        "K8VEWJeN6eIyHV+97gqwjg0f8fLvng3ulufi2muOzHOjyo38bFRXk2Mhy7cF/zVn8xX3epsbv9h6Azjg9bDtYyfUC/RThrq/eMk1j+PhU7i+"
        "+FgT1lPpvCJItZJ0DdtZ9JFmxy82WDzALvv+vmbhSbmu37q0eL6ox6o7/Kx27GFXkJPg1HpjQaU25fnKIeaoeVsTvGpFEXKgq48PuHC+0FrB"
        "+eQvgHasTmS/lq3PUe9GIjmVj/3sXEL7acJOYc9fRhMHYg3n67OY+56lve2Kc1JLWHQaNczz7JTM107holErKI00+najLeRKylnNpcsEcHpC"
        "wjcGOOBesVJIFD5sVEu+uVfM8hDXkhfVWPw6Nia1l49MJsxLHnut4FObGDHLc/3TuomLSTmYF42PUZumnpzRemoK8Skm7OT1+usScAptUbug"
        "uuYUeC+MJRqDE2C7Geg+IvN9nk8cnbOjYrqQdMreUEStBDbeJTSK093J0Xm9c1Zms1i5Gnjw+hzbExZK41zrEEpgUvZmsP0MKl42HcPStoOl"
        "L1eGNtvFdhLL4PcngJzaxbL3fWxzLGvUx+fPZ9vbWD6X86RSzllFM/0gLAc6TZDwLjLK0Rqa1uEGZqbF1rEf6vScXo+XEZoxUMv5E/zqkwbp"
        "PLGY1JGU4WvwjuV7qkgY4L/iC9gUPBXNNhsj+DTOFkeGjyGEqJbhjk8ukrVnKr8La2MkJpSxcN4j65PV+R8a+wVCdGLa4xDZgy82tIIiUp8p"
        "5bWYISRb5gvHL+LifqPWjjVgr4Dz+8zm04Q8d54EeS37gNBZolQdWRWxzVlGTnEUiwwozNmfyJe14okhf1rHS5v46cn2Ge5vsEk2QcVt2O8k"
        "n+/Q+a14z2+a6GuLh9jmnnxbl58tPH+i+0e37CkfwrLOvKLbN2vJSUTOmP7E8SflSaq7TfZjbCpNrWabX/JBJ2Bt+ZfO/FiXp5WuG+NTbdOJ"
        "7OOJqmbOb6XquLWcmPpQe2Tn9CFTkaG1C7YHBr6+aJ4a7UrZezyaPqfXYhMcD0wvz7epPTNcxkTS7WH5v1GXsmwJ8ZMsymvTb94+GVM/s12m"
        "8OzM4HfozQ9JpfT9CehZOtLx86yK8hL7FMvmJNj1I/NN9wfFWV43AVn3WQOFLZr80xnTiV36Gvs6w255In/LtnNPEf/OoryHuvImEX3+XPIR"
        "icj+1Fg/RSLfREc11wf7LrO63mv2PxzJw0dir/eIHGKs64cU6/T4IvrpW2sMs/gf85v7DIO/t2GY0FjrPtJvC9YdH/33OOTnBkvm9XrAvD5h"
        "bJcq7l73zw2WDCQmYP7cILplu1kP0vvlu6f0AuVUkceycho7PWUiS9G16JrtuseNE16JLOm3YMsH1xJz7u4HL8GQ0NLmMhBjogfm3c9f3vC6"
        "+3FJ8tXdBH2R4zCvix8vjh5y/x6dx33zUuyqp4Odx/2m1pKpJqvhl7EtPACNb+kaD/sj+QPX4V2IHN7tttJf6vCOhouMWSfYipUJBqdp2Wxz"
        "JFkNJlBQYdF7CRsKcjgB3zFR45Va2agjUruwoR/WdoqzIyjYBFVSagkI0Fl+11UMFMopg357kiHFAAQqKKbbZ0BjAJuJkTiFwoAbdGrxpHF4"
        "OGjUGorAPZ3U4k//7w8N1asPvBxFsNfhDR9Dns4DzwXlyivJM8MekFgTUDScFbnk2dWHhV9a1raUwwOSQlzS7SjvUB1ElQf85JT0TQsDwJnW"
        "a7DxIhu91B68mxsGSeWnpBjsYGGXn5Y6WGyzHVLcW7LPFe5FKNp3E1gE0uSu4010L0+VF05WR3PJKkP819uevsmL1kELJa81zEgrISMj3fq5"
        "rPaG00fGRclcRsJUdO8IQ7bxEzXMJ+5Ugj9mCoj6r5gijJFAVqIPmFAUIJAwmMha5PEms7n8zpr+IwYGu6Aj8tge+P/DK/C/2riAPnKXgTGI"
        "RElHuB0Mm/0hNGPkvdszX2V8jb/+PfjBgOhxffU13lt9belk1UgnxPNskq3+EqY+hrgkaey0WHYuKXgkjaK+KPL6+spbFXHGXBoZ8j2/EzWX"
        "3Il3RdpFSubJDgS9maOiJp9DIqrq2PeyuNirZGdXRnkmdPFDd0rfkVgrl/LJEj1IsHgfe15YSqRZ5+eQXeCTdZbV9s0TO7dZSH8OqZTX+Ho1"
        "79Cfvr/7rvv27hcrBGGfMPsSBQBmXVsBwJbNguAQd19J1kzQkzJN0MU0Cejjo+nT8dGspJVPYE/Nw3NCn+MYl5JiXLoR47LQBriOc8Klyxdc"
        "6gV9P4SnQPsL8Ch0/AWlUaE4PIXzQB+eqpQqq1LqOEPoI7xCxxq8eb5i0cZvzoLBU00SGZqKUj9RL5vFc2WvzktV+cLgYfGnT5nqmIjTtmKH"
        "cRl4avA0QIYKkb8mpSoZA15JUxhn6WZ7hBiXg+8S1aEEfUPSz2d0Ozn1cDwWj0UfydGuOuEFTx5X8Pd+Co72sR0GtaGtnSE2nSb1dib5/LiQ"
        "NNdWrg2FUvxMnBVHjWp8IuUUKAS5WKMqjWGXr5BCgKVrn8YkdNrDAXo4WVClGJ6+PcFCCAvOWsJ1K9vHAoAWLLQ41Ysl/dTbKGrJLVFb1MpY"
        "OE309lhE3z9kB+SmOMtPkE6xFpcQbhSsRrGrn2Y6boLNQtN12m7j+0VuyfBGquN9ct2o7oFNK1AYi8aNQPboRatzNic3LbSHjluC+tTv1L3o"
        "eypsm6/zenVy7ZtrtBfI45x3lO2QyALtigKFKJnDhsoNxASf/P9UuBqubDtNTplnWgudTqZYz9NhfM0Wdf9vmXGctXK13+mLLbe+u3gx+/Et"
        "Wsz+DnL/Y90="
    ),
}


def old_objects(pandas_major: int) -> dict[str, bytes]:
    data = zlib.decompress(base64.b64decode(OLD_OBJECTS[pandas_major]))
    found, at = {}, 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        found[data[at + 4 : at + 28].decode().strip()] = data[at + 28 : at + 28 + size]
        at += 28 + size
    return found


@pytest.mark.ours_only
def test_objects_written_before_the_layout_read_as_before():
    """Objects the previous writer left in S3 (no layout in their metadata) are read by the reader of that time's
    rules: the frame they were written from, exactly, on the pandas major that wrote them."""
    from xcom_s3 import frames

    written = old_objects(PANDAS_MAJOR)
    expected = frames_before_the_layout()
    assert sorted(written) == sorted(expected)
    for name, data in written.items():
        assert frames.LAYOUT_KEY not in (pq.read_metadata(pa.BufferReader(data)).metadata or {})
        assert_frames_identical(frames.parquet_to_frame(data), expected[name])


def test_a_frame_of_every_common_dtype_round_trips(backend, xcom_s3_env):
    """Any backend: one frame holding every common dtype comes back identical; a failure names every column
    whose dtype changed (the property above reports only its first, shrunk, example)."""
    frame_round_trips(backend, every_common_dtype(), CTX)


@pytest.mark.ours_only
@share(0.3)
@given(frame=frames(), ctx=contexts(), codec=st.sampled_from(["zstd", "snappy", "gzip", "none"]))
@example(frame=pd.DataFrame({"s": pd.Series(["a"], dtype=object)}), ctx=CTX, codec="zstd")
def test_frames_are_one_parquet_object_behind_a_small_reference(backend, xcom_s3_env, frame, ctx, codec):
    """Whatever the threshold and codec: a small reference in the DB, one Parquet object in S3, read back."""
    xcom_s3_env.new_prefix()
    xcom_s3_env.set("compression", codec)
    xcom_s3_env.set("threshold", 10**9)  # frames are offloaded whatever the threshold

    stored = through_db(store(backend, frame, ctx))
    ref = reference(stored)
    assert ref is not None, f"a DataFrame stayed inline: {stored!r:.200}"
    assert len(stored if isinstance(stored, bytes) else repr(stored)) < MAX_REFERENCE_BYTES
    assert ref["format"] == "parquet" and ref["shape"] == list(frame.shape)

    key = object_key(ref, xcom_s3_env.endpoint.bucket)
    assert xcom_s3_env.keys() == [key] and key.endswith(".parquet")
    body = xcom_s3_env.get(key)
    assert body[:4] == PARQUET_MAGIC and body[-4:] == PARQUET_MAGIC, "the object is not a Parquet file"
    assert ref["size"] == len(body)

    assert_frames_identical(load(backend, stored, ctx), frame)


@pytest.mark.ours_only
@share(0.3)
@given(frame=frames(dtypes=("inferred_str", "string", "Int64", "datetime_tz", "category")), ctx=contexts())
def test_frames_survive_the_db_of_every_release(backend, xcom_s3_env, frame, ctx):
    """The reference, not the frame, goes through the DB: JSON-able on 3.x, plain JSON bytes on 2.x."""
    xcom_s3_env.new_prefix()
    first = store(backend, frame, ctx)
    # Pushing the same frame again (a retry) writes the same key and gives the same reference.
    second = store(backend, frame, ctx)
    refs = [reference(through_db(stored)) for stored in (first, second)]
    assert refs[0] is not None and refs[1] is not None and refs[0]["uri"] == refs[1]["uri"]
    assert len(xcom_s3_env.keys()) == 1
    assert_frames_identical(load(backend, through_db(second), ctx), frame)


def dtype_matches(kind: str, dtype: object) -> bool:
    """Whether a column the strategy drew for the dtype name ``kind`` (strategies.FRAME_DTYPES) has that dtype."""
    if kind == "object_str":
        return dtype == np.dtype(object)
    if kind == "inferred_str":  # what pandas infers for text: object on pandas 2, its "str" dtype on pandas 3
        return dtype == pd.Series(["a"]).dtype
    if kind == "datetime_tz":
        return isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit == "ns"
    if kind.startswith("category"):
        return isinstance(dtype, pd.CategoricalDtype) and dtype.ordered == (kind == "category_ordered")
    named = {"datetime_ns": "datetime64[ns]", "datetime_us": "datetime64[us]", "timedelta": "timedelta64[ns]"}
    return str(dtype) == named.get(kind, kind)


def test_every_dtype_is_generated():
    """Guard the strategy: each dtype the property claims to cover builds frames with rows whose every column has
    that dtype (a strategy that quietly built another dtype would leave it untested)."""
    quick = settings(database=None, max_examples=50, phases=[Phase.generate])
    for kind in FRAME_DTYPES:
        frame = find(frames(dtypes=(kind,)), lambda f: len(f) > 0, settings=quick)
        wrong = {name: str(dtype) for name, dtype in frame.dtypes.items() if not dtype_matches(kind, dtype)}
        assert frame.shape[1] >= 1 and not wrong, f"{kind!r} drew columns of other dtypes: {wrong}"
