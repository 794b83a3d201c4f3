DROP TABLE location_changes
