DROP TABLE "type";
DROP TYPE "Odd Enum";
DROP TABLE "Weird Names";
