"""Secret detection in build contexts and image layers. Matches are masked; values never leave this package."""
