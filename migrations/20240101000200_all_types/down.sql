DROP TABLE all_types;
