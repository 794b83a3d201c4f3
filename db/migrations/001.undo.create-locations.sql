DROP TABLE locations
