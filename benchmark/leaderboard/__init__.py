"""Leaderboard: safe submissions, validation, automatic scoring, a static site."""
from .safezip import SubmissionError, read_submission_files
from .submission import Submission, load_submission

__all__ = ["Submission", "SubmissionError", "load_submission", "read_submission_files"]
