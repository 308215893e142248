DROP TABLE post_archive;
DROP TABLE jobs;
DROP TABLE post_labels;
DROP TABLE labels;
DROP TABLE comments;
