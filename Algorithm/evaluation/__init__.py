"""Evaluation: how good the ReID model is on labelled data, and which threshold to use.

    metrics         Rank-k / mAP / mINP (Market-1501 protocol), IoU, ratios: pure numpy
    datasets        Market-1501-named folders and MOT sequences as crop sets; GtFilter; embedding a crop set
    reid_eval       evaluate_reid: retrieval metrics of an extractor on a labelled folder
    sighting_score  scoring the sightings of a tracks run at any threshold (per identity, overall, sweep)
    tracks_eval     evaluate_tracks: sighting precision / recall on MOT sequences through the real engine
    pairs           genuine / impostor pair distances
    error_rates     FMR / FNMR, error curves, the threshold for a target FMR, equal error, distance statistics
    calibrate       Calibration of a folder or a gallery; saving the chosen threshold
    ranking         the query crop and the gallery photos nearest to it
    plots           the pictures (calibration, sweep, ranked photos) on matplotlib Figures

These modules take what they need (an extractor, features, a crop policy); only tracks_eval runs the whole
engine, through the small SearchEngine protocol. Nothing here imports Algorithm.outer_api.
"""
