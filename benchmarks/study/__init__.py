"""The paper's evaluation protocol at CPU scale, on simulated EEG-fMRI datasets.

One command runs the whole study and writes its tables and figures (from the
repository root)::

    python -m benchmarks.study                       # under 2 h on 2 cores
    python -m benchmarks.study --quick --out /tmp/s  # minutes: smoke run, tiny sizes

What it does (see ``docs/study.rst`` for the discussion of the results):

1. Simulates the datasets of :data:`~benchmarks.study.config.DATASETS` (``noddi``,
   ``oddball`` and ``cnepfl`` at CPU scale: fewer subjects, volumes, electrodes and
   voxels than the real datasets). cnepfl is simulated on a finer grid and
   DCT-resampled to the common grid, as the paper does for CN-EPFL.
2. Builds the (EEG context, BOLD volume) pairs twice: with the default features
   (log-magnitude TR-window spectra, :class:`eeg2fmri.features.FeatureParams`) and with
   the official ones (:meth:`~eeg2fmri.features.FeatureParams.official`).
3. Splits by participant (:func:`~benchmarks.study.data.folds`): leave-one-subject-out
   for noddi and oddball, a fixed split with the last four participants as the test
   set for cnepfl.
4. Fits the rows of :data:`~benchmarks.study.config.ROWS`: ``spec2vol-small`` with the
   default recipe; the same model on EEG circularly shifted against the BOLD by at
   least 60 s within each run (a null); the paper's recipe; ablations of the default
   recipe on the ablation datasets; the linear baselines, the mean training volume, a
   time-only null and the oracle (the simulator's noise-free BOLD).
5. Scores every held-out participant (:mod:`~benchmarks.study.scoring`): SSIM and PSNR
   in the paper's units, the voxel-wise temporal correlation in the simulated
   networks' voxels and in the brain, the same with the test EEG shifted, and parcel
   correlations in the Power et al. (2011) spheres.
6. Compares ``spec2vol-small`` with every other row, paired by participant
   (:mod:`~benchmarks.study.stats`): t and bootstrap 95 % intervals of the mean
   difference, paired t-test with Holm adjustment per dataset, Wilcoxon signed-rank;
   draws violin plots (:mod:`~benchmarks.study.figures`).

Modules: :mod:`~benchmarks.study.config` (what runs), :mod:`~benchmarks.study.data`,
:mod:`~benchmarks.study.scoring`, :mod:`~benchmarks.study.baselines`,
:mod:`~benchmarks.study.runner` (jobs, workers, resumable work folder),
:mod:`~benchmarks.study.stats`, :mod:`~benchmarks.study.tables`,
:mod:`~benchmarks.study.report`, :mod:`~benchmarks.study.figures`,
:mod:`~benchmarks.study.cli`. Only public eeg2fmri API is used.

Trained fits run in ``--jobs`` worker processes with one thread each. Each fit's
result is saved in the work folder as soon as it finishes; a re-run with the same work
folder skips what is done. Outputs (``--out``, default ``docs/study``):
``results.md``, ``results.rst``, ``summary.tsv``, ``per_subject.tsv``,
``paired_tests.tsv``, ``study.json`` (command, environment, seeds, timings) and
``figures/*.png``.
"""
