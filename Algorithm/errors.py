"""Errors with messages meant for the user: the GUI shows `str(err)` as is."""


class ReIdError(Exception):
    """Base of every error the engine raises on purpose."""


class Cancelled(ReIdError):
    """The user stopped a long call that keeps nothing partial (a calibration, an evaluation)."""


class InputError(ReIdError):
    """A file the user gave cannot be used (missing, unreadable, not an image or video)."""


class ModelError(ReIdError):
    """A model is missing, corrupt, of the wrong shape, or does not fit the gallery."""


class GalleryError(ReIdError):
    """A gallery operation was refused (unknown id, duplicate label, ...)."""


class NothingFoundError(InputError):
    """The photo holds nobody of the asked category."""


class WrongCategoryError(NothingFoundError):
    """The photo holds nobody of the asked category but is filled by an object of another one."""

    def __init__(self, message: str, asked: str, seen: str):
        super().__init__(message)
        self.asked = asked
        self.seen = seen  # the category the photo looks like


class SeveralFoundError(InputError):
    """The photo holds several separate objects of the category: the user must choose one (a box)."""
