"""point_cloud package."""
