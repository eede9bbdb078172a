"""The extractive answerer on hand-made passages. No model: a passage's `dense` stands for every sentence's
similarity (unless sentence vectors are given), and every term's idf is 1, so each question term weighs 1."""
from __future__ import annotations

import dataclasses
import re
import time
import statistics

import numpy as np
import pytest

from bot.answerers import (Attribution, ExtractiveAnswerer, ExtractiveConfig, answer_kind, article_fact,
                           asked_event, counted_noun, introduced_people, ordinals, ordinals_agree, readable_date,
                           readable_time, relative_times, role_given, role_of, speaker_in, speaker_of, times_agree,
                           unit_pattern, who_said, years_agree, yes_or_no)
from bot.prompts import PromptLibrary
from index.bm25 import stem
from index.build import pack_vectors
from tests.bot.conftest import FakeIdf, make_passage, sentence_spans

ABSTAIN = PromptLibrary().render("abstain")
BRIDGE = ("Nantong sits on the Yangtze River. The Sutong Bridge opened to traffic on June 30, 2008. It carries more "
          "than 90,000 vehicles every day. Four more crossings will start in 2022.")
OPENED = "The Sutong Bridge opened to traffic on June 30, 2008."
CARRIES = "It carries more than 90,000 vehicles every day."


@pytest.fixture
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer(abstain_message=ABSTAIN)


def ask(answerer: ExtractiveAnswerer, question: str, *passages, **options):
    return answerer.answer(question, passages, query_vector=options.pop("query_vector", None),
                           idf=options.pop("idf", FakeIdf()), **options)


# --- answer kinds ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "kind"), [
    ("When did the Sutong Bridge open to traffic?", "date"),
    # The name of a person asks who: "the relevant person in charge of Yixing City" names no one.
    ("What is the name of the Yixing official quoted on land reform?", "person"),
    ("what's the name of the reporter who interviewed Wu Xinming", "person"),
    ("What is the name of the bridge?", "named"),
    ("How often does Jiaxing hold the festival?", "frequency"),
    ("How many times a year do they meet?", "frequency"),
    ("In which year was the plan approved?", "date"),
    # "What date" asks for a day, which a year does not give.
    ("What date is the meeting?", "day"),
    ("On what exact date was the symposium held?", "day"),
    ("what day did kunshan publish its plan?", "day"),
    ("What day of the week was it?", "date"),
    ("What is the name of Nantong's second river crossing?", "named"),
    ("What's the full name of the expo?", "named"),
    ("What is the name of the town where Song Street is?", "named"),
    # A name a place goes by.
    ("what do people call huangyan in relation to taizhou?", "alias"),
    ("What nickname does the reservoir go by?", "alias"),
    ("What name does the street go by?", "alias"),
    ("How many years went by before the bridge opened?", "number"),
    ("When did the ships go by the port?", "date"),
    ("What did Xi call on officials to do?", "any"),
    ("What date is the deadline?", "date"),  # "by the end of 2025" answers it
    ("What is Huangyan known as?", "alias"),
    ("Why do locals call Song Street Zhi Street?", "any"),
    ("What did the meeting call for?", "any"),
    ("How many vehicles use it every day?", "number"),
    # "How big" asks for a measure, "how large a share" for a part.
    ("How big is the Jiangyin-Jingjiang Industrial Park?", "size"),
    ("What is the size of the park?", "size"),
    ("How large a share of the output is high-tech?", "percent"),
    ("How big a share of exports goes to Europe?", "percent"),
    ("How large was the increase in passenger trips?", "number"),
    ("How big a role does the port play?", "any"),
    ("How big is the research team?", "size"),
    ("What was the GDP of Nantong?", "number"),
    # A population is counted in people; a distance in kilometres or in time.
    ("what's the population of kunshan", "population"),
    ("How many people live in Nantong?", "population"),
    ("How many people attended?", "number"),
    ("How far is Nantong from Shanghai?", "distance"),
    ("How close is Nantong to Shanghai?", "any"),
    ("How far has the plan got?", "number"),
    ("How much did the bridge cost?", "money"),
    ("What was the investment in the zone?", "money"),
    ("What percentage of trade goes to Shanghai?", "percent"),
    ("How long is the bridge?", "length"),
    ("How long did the construction take?", "duration"),
    ("How old is Wu Xinming?", "age"),
    ("Who is the secretary of the Nantong party committee?", "person"),
    ("Which official spoke at the meeting?", "person"),
    # "Who is <a name>?" asks what the person is, not for another name.
    ("Who is Xu Xiaoyu?", "role"),
    ("who's lin zhengguo", "role"),
    ("Who is the mayor?", "person"),
    ("Who was president in 2020?", "person"),
    ("who is responsible for the bridge", "person"),
    ("Who is mayor?", "person"),
    ("Where is Ningxi?", "place"),
    ("Which city will host the expo?", "named"),
    ("How much of the farm produce ends up in Shanghai?", "percent"),  # a share of something
    ("How much of that did the voucher pay?", "money"),
    ("What time of day was it when the smells drifted out?", "time"),
    ("Kunshan's plan - what's the target year for the goal?", "date"),
    ("By when should the park be finished?", "date"),
    ("Over what period?", "date"),  # a span of time: "From January to October this year"
    ("During what time frame will the zone be built?", "date"),
    ("What was the year-on-year growth rate?", "number"),
    ("Which side of the Yangtze is Nantong on?", "direction"),
    ("What is the alcohol content of the wine?", "number"),
    # "spent" alone is time as often as money; the wh-phrase decides.
    ("The zone where he spent eight years - which city is that in?", "named"),
    ("How much was spent on the bridge?", "money"),
    ("What town is Song Street in?", "named"),
    ("In what city is the expo?", "place"),
    ("Why does Nantong mention the collaborative zone?", "any"),
    ("Tell me about the Sutong Bridge.", "any"),
    ("Give me three facts about Jiaxing", "any"),
    # Comparisons weigh two things: a sentence about one of them does not answer.
    ("Which is bigger, Nantong or Kunshan?", "comparison"),
    ("Which city is larger: Suzhou or Nantong?", "comparison"),
    ("Which came first, the bridge or the railway?", "comparison"),
    ("Is Kunshan richer than Jiangyin?", "comparison"),
    ("Is Nantong bigger than it was?", "any"),  # one side is only "it was"
    ("Is it more than 100 km?", "any"),
    ("Which river or lake is the park near?", "named"),
    ("Which projects are more important?", "any"),
    ("Which is bigger Nantong or Kunshan?", "comparison"),
    ("Is Nantong more populous than Suzhou?", "comparison"),
    # A threshold is not a second thing to weigh ("more than 90,000 vehicles"), nor are two words joined by "or".
    ("Does the Sutong Bridge carry more than 90,000 vehicles a day?", "any"),
    ("Did Wu Xinming work in Suzhou for more than 20 years?", "any"),
    ("Is the bridge longer than 8 kilometres?", "any"),
    ("Which companies will receive more funding or tax breaks?", "money"),
    ("Who was the first mayor or governor of the city?", "person"),
    # A rate, a figure, a volume is a number ("high forest coverage" gives none); how much is invested is money.
    ("What is Huangyan's forest coverage rate?", "number"),
    ("What exactly is the design traffic volume of the Sutong Bridge?", "number"),
    ("What is Suqian's GEP figure?", "number"),
    ("What is the main figure in the story?", "any"),
    ("How much is CNBM Yixing New Energy investing in the factory?", "money"),
    # Someone's post, asked without "who": who they are.
    ("What position does Wu Xinming hold?", "role"),
    ("What is Wu Xinming's title?", "role"),
    ("what is wu xinming's job", "role"),
    ("What is the company's position?", "any"),
    ("What is Kunshan's title?", "any"),  # a place's, not a person's post
    ("What is Nantong's role?", "any"),
    # A money word the question names is not what "who" or "when" ask for.
    ("Who voted against the budget?", "person"),
    ("When was the budget passed?", "date"),
    ("What is the budget?", "money"),
    # A journey lasts; a bridge is long.
    ("How long is the ferry crossing to Gull Island?", "duration"),
    ("How long is the Sutong Bridge?", "length"),
    # Whose: any owner, named with what the question names.
    ("Whose backyard is Huangyan?", "owner"),
    ("Whose one-hour commuting circle does Nantong belong to?", "owner"),
])
def test_answer_kind(question: str, kind: str) -> None:
    assert answer_kind(question).name == kind


@pytest.mark.parametrize("question", [
    "which more" + " " * 1900 + "or b ?y", "which " + ("more" + " " * 6 + "or" + " " * 6) * 110 + "?y",
    "is a" + (" " * 15 + "bigger than") * 70 + " ?y",
])
def test_reading_a_long_odd_question_takes_no_time(question: str) -> None:
    # A regular expression with nested lazy parts took minutes on these (a few word pieces, under the length limit).
    started = time.perf_counter()
    answer_kind(question)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("question", "head"), [
    ("Which city will host the expo?", "city"),
    ("Which river glitters in all sorts of hues?", "river"),
    ("What town is Song Street in?", "town"),
    ("Which festival did Jiaxing hold first?", "festival"),
    ("What festival programme did Jiaxing build?", None),  # "what festival ..." may want a description
    ("Which industrial park is his city known for?", None),  # parks are named every way, and often described
])
def test_a_named_answer_knows_what_it_names(question: str, head: str | None) -> None:
    assert answer_kind(question).head == head


@pytest.mark.parametrize(("kind", "sentence", "question", "found"), [
    ("date", OPENED, "When did it open?", True),
    ("date", "It opened last year.", "When did it open?", True),
    # A date the question already states is no answer to it.
    ("date", "The bridge opened in 2008.", "When in 2008 did the bridge open?", False),
    ("number", CARRIES, "How many vehicles?", True),
    ("number", "It opened in 2008.", "How many vehicles?", False),  # a year is not a count
    ("number", "Four more crossings will start.", "How many crossings?", True),
    ("number", "It carries 90,000 vehicles.", "Does it carry 90,000 vehicles?", False),
    # A number word that begins a name, or "one" as a determiner, counts nothing.
    ("number", 'Shanghai builds its "Five Centers".', "How big is it?", False),
    ("number", "The Two Sessions met in March.", "How many delegates?", False),
    ("number", "Nantong has Shanghai on one side.", "How big is Nantong?", False),
    ("number", "Three cities grew.", "How many cities grew?", True),
    # A size is a measure: an area, a sum, a large number; not a count of points, nor a year.
    ("size", "Shibei High-tech City is only 5.2 square kilometers.", "How big is it?", True),
    ("size", "Its total economic volume has reached a trillion level.", "How big is its economy?", True),
    ("size", "The orders came to more than 200 million yuan.", "How big were the orders?", True),
    ("size", "It has attracted nearly 300 companies.", "How big is it?", True),
    ("size", "Jingjiang will highlight the 'four key points' of the park.", "How big is the park?", False),
    ("size", "Nantong has jointly built 19 cooperation parks.", "How big is it?", False),
    ("size", "In 2024, the park will grow.", "How big is the park?", False),
    ("size", "The research team has 12 members.", "How big is the research team?", True),
    ("size", "It covers 1.5 km² of land.", "How big is it?", True),
    ("size", "Hundreds of firms have moved in.", "How big is it?", True),
    ("size", "It is one of the Fortune 500 firms.", "How big is it?", False),  # a name's number measures nothing
    ("size", "Its 500 firms employ many.", "How big is it?", True),
    ("population", "Kunshan has ranked first among the top 100 counties.", "What's the population of Kunshan?",
     False),
    ("population", "The city has 7.7 million permanent residents.", "What's the population of the city?", True),
    ("population", "It has a population of about 1.6 million.", "How many people live there?", True),
    ("distance", "Nantong belongs to the one-hour commuting circle of Shanghai.", "How far is it from Shanghai?", True),
    ("distance", "The commuting time will be shortened to about 40 minutes.", "How far is it from Shanghai?", True),
    ("distance", "The bridge is 8,206 meters long.", "How far is it?", True),
    ("distance", "More than 40% of its goods are shipped through Shanghai.", "How far is it from Shanghai?", False),
    ("distance", "In the past three years, trade with Shanghai grew.", "How far is it from Shanghai?", False),
    ("population", "The Kunshan people hosted 2 exhibitions.", "What's the population of Kunshan?", False),
    # ... unless the name is of what is counted.
    ("number", 'Shanghai builds its "Five Centers".', "How many 'centers' is Shanghai building?", True),
    ("money", "It cost 12 billion yuan.", "How much did it cost?", True),
    ("money", "It cost a lot.", "How much did it cost?", False),
    ("percent", "Trade grew 7.5% last year.", "What percentage?", True),
    ("percent", "Trade grew fast.", "What percentage?", False),
    ("percent", "More than half of it goes to Shanghai.", "How much of it goes to Shanghai?", True),
    ("length", "The main span is 1,088 meters long.", "How long is the bridge?", True),
    ("duration", "Construction took six years.", "How long did construction take?", True),
    ("duration", "Construction was hard.", "How long did construction take?", False),
    ("age", "He is 52 years old.", "How old is he?", True),
    ("person", "Wu Xinming spoke at the meeting.", "Who spoke?", True),
    ("person", "The Sutong Bridge opened.", "Who opened it?", False),  # "Bridge" is not part of a person's name
    ("person", "The Regional Leaders Symposium was held in Wuhu.", "Who attended?", False),  # an event, no one
    # A sentence that only says who spoke answers "who said", not "who runs it".
    ("person", "Xu Xiaoyu, director of Jingjiang City, said.", "Who runs it?", False),
    ("person", "Xu Xiaoyu, director of Jingjiang City, said.", "Who said that?", True),
    ("person", "Xu Xiaoyu, director of Jingjiang City, runs the park.", "Who runs it?", True),
    ("person", "The bridge, 8 km long, was built by China Communications Company, Wang Wei said.", "Who built it?",
     True),
    ("person", "The park, set up in 2010, is run by Wang Wei, the deputy mayor said.", "Who runs the park?", True),
    # "Who held it?" is answered by whoever it was held by, people or not.
    ("person", "It was the first conference held by three provinces and one city.", "Who held it?", True),
    ("person", "It was the first conference held in three provinces.", "Who held it?", False),
    # "co-built" is built together: "jointly built by".
    ("person", "Shibei was jointly built by Jing'an District and Chongchuan District.", "Who co-built Shibei?", True),
    ("person", "It will be held by the end of June.", "Who held it?", False),  # a date, not an agent
    # A hyphenated word is part of the name: "the North Yanjiang High-speed Railway" answers "which railway".
    ("named", "After the North Yanjiang High-speed Railway opens, the trip takes 40 minutes.",
     "Which high-speed railway will cut the trip?", True),
    # ... and by a body that did it, by its name.
    ("person", "This year's Provincial Government Work Report clearly proposed building the zone.", "Who proposed it?",
     True),
    ("person", "The report proposed building the zone.", "Who proposed it?", False),  # no one named
    ("person", "It will be built by 2025.", "Who built it?", False),
    ("person", "It was built by hand.", "Who built it?", False),
    # "Who is X?" wants what X is.
    ("role", "Xu Xiaoyu, director of Jingjiang City, said.", "Who is Xu Xiaoyu?", True),
    ("role", "Meng Qingdong, chief engineer of the company, introduced that the cost was 450,000 yuan.",
     "who is meng qingdong", True),
    ("role", "He said General Secretary Xi Jinping spoke.", "Who is Xi Jinping?", True),
    ("role", "Wu Xinming is the party secretary.", "Who is Wu Xinming?", True),
    ("role", "Wu Xinming spoke.", "Who is Wu Xinming?", False),
    # A surname alone is the person it begins: "whos meng" after the elevator answer.
    ("role", "Meng Qingdong, chief engineer of the company, said so.", "Who is Meng?", True),
    ("role", "Meng said, in the end, that it worked.", "Who is Meng?", False),
    ("role", "Wu Xinming, Xu Hong and Lin Zhengguo spoke.", "Who is Wu Xinming?", False),  # a list, no title
    # A place in a ranking, not on the map.
    ("rank", "Kunshan has consistently ranked first among the top 100 counties.", "Where does Kunshan rank?", True),
    ("rank", "Kunshan is among the top 100 counties.", "Where does Kunshan rank among the top 100 counties?", False),
    ("rank", "Kunshan is No. 1 of the top 100 counties.", "What rank does Kunshan hold?", True),
    # "top-ranked" names a place's standing; the question asks where it is.
    ("place", "The top-ranked university is located in Nanjing.", "Where is the top-ranked university located?", True),
    ("place", "Ningxi is located in Huangyan District.", "Where is Ningxi?", True),
    ("place", "Ningxi is a town.", "Where is Ningxi?", False),
    # "to" names a place after a move, not in "related to <a person>".
    ("place", "Ningxi wine is related to Wang Congde.", "Where is Ningxi?", False),
    ("place", "He moved from Hangzhou to Ningxi in Huangyan.", "Where did he move?", True),
    # "On" a platform or an island is somewhere; "on November 8" or "on Monday" is not.
    ("place", "The demand was released on the Sharing Service Platform.", "Where did Canny post its demand?", True),
    ("place", "The demand was released on November 8.", "Where did Canny post its demand?", False),
    ("place", "The demand was released on Monday.", "Where did Canny post its demand?", False),
    ("place", "The expo opened on National Day.", "Where is the expo?", False),
    ("place", "The report on Wang Lei was long.", "Where is the report?", False),
    ("place", "It is located on Chongming Island.", "Where is it?", True),
    # A city and its province: the province answers "in which province" though the question names the city.
    ("place", "The symposium was held in Wuhu, Anhui.", "After the Wuhu symposium, in which province did they meet?",
     True),
    ("place", "The symposium was held in Wuhu, Anhui Province, on May 22.",
     "After the Wuhu symposium, in which province did they meet?", True),
    ("place", "Leaders met in Wuhu, Shanghai and Suzhou.", "After the Wuhu symposium, in which province did they meet?",
     False),
    ("place", "If you were from the Song Dynasty, you would rest at an inn.", "Where is Song Street?", False),  # when
    ("day", "About 20 may be admitted each year.", "On what date are they admitted?", False),
    ("alias", "The plan called for more parks.", "What do people call the plan?", False),
    ("alias", "He calls on residents to recycle.", "What do people call him?", False),
    ("day", "It opened on November 8th last year.", "On what date did it open?", True),
    ("day", "It opened on 8 November.", "On what date did it open?", True),
    ("day", "Four years ago in early summer, the 2019 symposium was held.", "On what date was it held?", False),
    ("day", "In May 2024 it opened.", "On what date did it open?", False),
    # How often: "every year", "twice a year", "annually"; not the year something began.
    ("frequency", "As early as 1997, Jiaxing began to hold the festival.", "How often is the festival held?", False),
    ("frequency", "Since 1997, Jiaxing has held the festival every year.", "How often is the festival held?", True),
    ("frequency", "The symposium is held annually.", "How frequently does it meet?", True),
    ("alias", 'Huangyan is known as the "backyard" of Taizhou.', "What do people call Huangyan?", True),
    ("alias", "Huangyan is an urban area of Taizhou.", "What do people call Huangyan?", False),
    ("named", "The expo moves to Suzhou next year.", "Which city hosts the expo?", True),
    # A name of what is asked: a river's name ends in "River"; a city goes by its bare name, not a street's.
    ("named", "In Nanjing, the Qinhuai River is shimmering.", "Which river glitters?", True),
    ("named", "The Yangtze River Delta met in Wuhu, Anhui.", "Which river glitters?", False),
    ("named", "He lives on Song Street, also known as Gui Street.", "What town is Song Street in?", False),
    ("named", "The person from Ningxi Town said so.", "What town is Song Street in?", True),
    ("named", "It lies in Huangyan District.", "Which city is Ningxi in?", True),  # a district will do for a city
    # A firm is not where something is; it is where things come from.
    ("named", "The Sutong Bridge, the first bridge in Nantong, opened in 2008.", "Which company built the bridge?",
     False),
    ("named", "Elevators from Suzhou Canny went into use on Line 11.", "Which company made the elevators?", True),
    # "What is the name of X?" wants a name the question does not give; a month is no name.
    ("named", "The Chongqi Bridge opened in 2011.", "What is the name of Nantong's second river crossing?", True),
    ("named", "Song Street is also known as Gui Street.", "What is the name of the town where Song Street is?",
     False),
    ("named", "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened.",
     "What is the name of Nantong's second bridge, the one after the Sutong Bridge?", False),
    # A name opening the sentence that says what it is (not "It is ...", nor a word that merely opens it).
    ("named", "Suzhou is the strongest prefecture-level city in China.",
     "Which city is called the strongest prefecture-level city in China?", True),
    ("named", "It is the strongest prefecture-level city of the country.", "Which city is the strongest?", False),
    ("named", "Strolling around the street, I smelt food.", "Which town is the street in?", False),
    ("named", "Today is a big day for the strongest prefecture-level city of the country.",
     "Which city is called the strongest prefecture-level city?", False),
    ("time", "Then I realized that it was almost dusk.", "What time of day was it?", True),
    ("time", "Then I realized that it was almost 2008.", "What time of day was it?", False),
    # A compass side, not one that is part of a name ("southern Jiangsu", "North Yanjiang").
    ("direction", "Wu moved to Nantong on the north bank of the Yangtze.", "Which side is Nantong on?", True),
    ("direction", "It faces Shanghai and southern Jiangsu.", "Which side is Nantong on?", False),
    ("direction", "The North Yanjiang railway opened.", "Which side is Nantong on?", False),
    ("any", "Anything at all.", "Why?", True),
    # An era says when as a date does.
    ("date", "During the reign of Emperor Jingfu of Tang Dynasty, Wang moved to Ningxi.", "When did Wang move?", True),
    ("date", "In the Song Dynasty, the street was built.", "When was the street built?", True),
    ("date", "Reign of Emperor Jingfu: Wang moved to Ningxi.", "When did Wang move?", True),
    ("date", "If you were from the Song Dynasty, you would rest at an inn.", "When was the street built?", False),
    # ... and so does "recently", when it is all the article gives.
    ("date", "Recently, the Kunshan Metaverse International Equipment Exhibition opened.", "When did it open?", True),
    ("date", "The exhibition opened, showcasing equipment.", "When did it open?", False),
    # ... and "about to", when the article tells no more of the future.
    ("date", "The Su-Tong second passage is about to start construction.", "When does it start?", True),
    ("date", "Buyers signed deals as soon as they arrived.", "When did the exhibition open?", False),
    ("comparison", "Kunshan's GDP is higher than Jiangyin's.", "Is Kunshan richer than Jiangyin?", True),
    ("comparison", "Kunshan ranked first among the top 100 counties, ahead of Jiangyin.",
     "Which is richer, Kunshan or Jiangyin?", True),
    ("comparison", "Kunshan ranked first among the top 100 counties.", "Which is richer, Kunshan or Jiangyin?", False),
    ("comparison", "Kunshan and Jiangyin signed an agreement.", "Which is richer, Kunshan or Jiangyin?", False),
    # A currency sign stands before its figure; a percentage may be written out.
    ("money", "Tickets cost $4.50 for adults and $2 for children.", "How much does a ticket cost?", True),
    ("money", "The repairs will cost €900,000.", "How much will the repairs cost?", True),
    ("money", "The ferry crossing takes 25 minutes.", "How much does a ticket cost?", False),
    ("percent", "Eighty-six percent of the 112 teachers who voted backed the strike.",
     "What share of teachers backed the strike?", True),
    ("percent", "Most of the 112 teachers who voted backed the strike.", "What percent backed the strike?", False),
    ("duration", "Luke Miller ran the bakery for the last twelve years.", "How long did he run it?", True),
    ("number", "The bakery employs nine people.", "How many people does it employ?", True),
    ("owner", 'Huangyan is known as the "backyard" of Taizhou.', "Whose backyard is Huangyan?", True),
    ("owner", "Wufangzhai and Zhenzhen Laolao are also Jiaxing brands.", "Whose brands are Wufangzhai and Zhenzhen "
     "Laolao?", True),
    ("owner", "Nantong belongs to the one-hour commuting circle of Shanghai.",
     "Whose one-hour commuting circle does Nantong belong to?", True),
    # A name, but not the owner of what is asked about.
    ("owner", "Under the leadership of the Provincial Government, the collaborative zone has been solved.",
     "Whose idea was the collaborative zone?", False),
    ("owner", "Huangyan has high forest coverage.", "Whose backyard is Huangyan?", False),
])
def test_answer_kind_found_in(kind: str, sentence: str, question: str, found: bool) -> None:
    assert dataclasses.replace(answer_kind(question), name=kind).found_in(sentence, question) is found


@pytest.mark.parametrize(("question", "noun"), [
    ("How many vehicles use it every day?", "vehicl"),
    ("How many new vehicles use it?", "vehicl"),
    ("How many river-crossing passages are there?", "passag"),
    ("How many people live there?", "person"),
    ("how many crossings will be built?", "cross"),
    ("How many of Nantong's larger factories work with colleges?", "factory"),  # not the possessive
    ("How many 'centers' is Shanghai building?", "center"),  # quoted
    ("How many “golden cards” does it have?", "card"),
    ("When did it open?", None),
])
def test_counted_noun(question: str, noun: str | None) -> None:
    assert counted_noun(question) == noun


# --- answering ------------------------------------------------------------------------------------------------


def test_a_supported_answer_quotes_its_sentence_and_cites_it(answerer: ExtractiveAnswerer) -> None:
    passage = make_passage(BRIDGE)
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?", passage)
    assert not draft.abstained
    assert draft.text == f"{OPENED} [1]"
    [citation] = draft.citations
    assert (citation.n, citation.title, citation.published, citation.source, citation.chunk_id) == (
        1, "Sutong Bridge opens", "2008-07-01", "bridges.txt", "p1")
    assert citation.text == BRIDGE
    assert citation.quote == OPENED
    assert citation.text[citation.quote_start:citation.quote_end] == citation.quote
    # Score = dense 0.8 + coverage 1.0 + kind 0.35 + rank 0.15 / 1.
    assert citation.score == pytest.approx(2.3)
    assert draft.evidence["coverage"] == 1.0 and draft.evidence["kind_ok"] == 1.0


def test_the_best_sentence_of_any_passage_is_cited_as_1(answerer: ExtractiveAnswerer) -> None:
    other = make_passage("The weather in Nantong was mild in spring.", chunk_id="p1", title="Weather", rank=1)
    bridge = make_passage(BRIDGE, chunk_id="p2", title="", source="b2.txt", rank=2)
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?", other, bridge)
    assert draft.text == f"{OPENED} [1]"
    [citation] = draft.citations
    assert (citation.n, citation.chunk_id, citation.source) == (1, "p2", "b2.txt")
    assert citation.text[citation.quote_start:citation.quote_end] == OPENED


def test_a_sentence_starting_with_it_brings_its_antecedent(answerer: ExtractiveAnswerer) -> None:
    draft = ask(answerer, "How many vehicles use the Sutong Bridge every day?", make_passage(BRIDGE))
    assert draft.text == f"{OPENED} {CARRIES} [1]"
    [citation] = draft.citations
    assert citation.quote == f"{OPENED} {CARRIES}"
    assert citation.text[citation.quote_start:citation.quote_end] == citation.quote
    assert citation.quote_start == BRIDGE.index(OPENED)


def test_the_next_sentence_joins_when_it_scores_as_well(answerer: ExtractiveAnswerer) -> None:
    text = ("Nantong has big plans. First, the city will build a second passage across the river. Second, the city "
            "will build a rail tunnel across the river. The weather was fine.")
    passage = make_passage(text, title="")
    draft = ask(answerer, "What will the city build across the river?", passage)
    assert draft.text == ("First, the city will build a second passage across the river. Second, the city will build "
                          "a rail tunnel across the river. [1]")
    one = ExtractiveAnswerer(abstain_message=ABSTAIN, config=ExtractiveConfig(max_sentences=1))
    assert ask(one, "What will the city build across the river?", passage).text == (
        "First, the city will build a second passage across the river. [1]")


def test_a_date_answers_for_the_event_only_where_the_event_is_named(answerer: ExtractiveAnswerer) -> None:
    """The several-word name of "When was the Fifth Plenary Session held?" must be in the dated sentence, the one
    before or the title: a date further off belongs to something else. (The sentence just after a mention may still
    be another event's; requiring it to refer back, "It met ...", lost more right answers than it saved.)"""
    met = "The Fifth Plenary Session met in Nanjing and set out the plans."
    later = "In 2024, the plenary session plans will bring new roads to the province."
    far = make_passage(f"{met} Delegates talked at length over lunch. {later}", title="")
    assert ask(answerer, "When was the Fifth Plenary Session held?", far).abstained
    dated = "It met on October 26, 2023, for two days."
    back = make_passage(f"{met} {dated}", title="", chunk_id="p2")
    assert dated in ask(answerer, "When was the Fifth Plenary Session held?", back).text
    titled = make_passage("In 2023, the session was held in Nanjing.", title="The Fifth Plenary Session",
                          chunk_id="p3")
    assert not ask(answerer, "When was the Fifth Plenary Session held?", titled).abstained
    # ... and the date is the event's only where the event is told: 2024 is when the plans will bring roads.
    assert ask(answerer, "When was the Fifth Plenary Session held?",
               make_passage(later, title="The Fifth Plenary Session", chunk_id="p4")).abstained


def test_a_one_word_place_may_be_named_anywhere_in_the_passage(answerer: ExtractiveAnswerer) -> None:
    """An article about Jiangsu calls it "the province" for paragraphs on end."""
    carried = "From January to October this year, the province carried 600 million passengers."
    passage = make_passage(f"Jiangsu links two strategies. Delegates talked at length over lunch. {carried}", title="")
    assert carried in ask(answerer, "How many passengers did Jiangsu carry from January to October?", passage).text


@pytest.mark.parametrize("question", [
    "How many passengers did Jiangsu carry Jan-Oct?",
    "how many passengers did jiangsu carry jan-oct?",
    "How many passengers did Jiangsu carry from Jan to Oct?",
    "How many passengers did Jiangsu carry Jan-Oct. Thanks",
    "How many passengers did Jiangsu carry January-October?",
])
def test_months_are_matched_as_the_article_writes_them(answerer: ExtractiveAnswerer, question: str) -> None:
    """"Jan-Oct" was analysed as one word, "janoct", which no passage holds (nor "oct"): the question looked
    unanswered. Written out, the months match "From January to October"; a sentence's full stop stays one."""
    carried = "From January to October this year, Jiangsu carried 600 million passengers."
    passage = make_passage(f"{carried} The weather was fine.", title="")
    assert ask(answerer, question, passage).text == f"{carried} [1]"


def test_a_month_the_passage_does_not_give_still_pins_the_answer(answerer: ExtractiveAnswerer) -> None:
    carried = "From January to October this year, Jiangsu carried 600 million passengers."
    passage = make_passage(f"{carried} The weather was fine.", title="")
    assert ask(answerer, "How many passengers did Jiangsu carry in December?", passage).abstained
    assert ask(answerer, "How many passengers did Jiangsu carry in Dec.?", passage).abstained


def test_a_why_question_takes_the_next_sentence_when_it_gives_the_reason() -> None:
    """"What made X significant?": the best sentence names X; the one after says why. It joins at a lower ratio than
    a list's next sentence, but only when it gives a reason and the best sentence gives none."""
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN, config=ExtractiveConfig(next_sentence_ratio=0.9))
    held = "The regional leaders symposium was held in Wuhu in early summer."
    first = "This was the first major conference of the three provinces since the strategy began."
    passage = make_passage(f"{held} {first} The weather in Wuhu was fine.", title="")
    assert ask(answerer, "What made the Wuhu leaders symposium significant?", passage).text == f"{held} {first} [1]"
    assert ask(answerer, "Why did the Wuhu leaders symposium matter?", passage).text == f"{held} {first} [1]"
    # Not a why question: the best sentence alone.
    assert ask(answerer, "What happened in Wuhu in early summer?", passage).text == f"{held} [1]"
    # The next sentence gives no reason: the best sentence alone.
    chatty = make_passage(f"{held} Many guests came to the city that week. The weather in Wuhu was fine.", title="",
                          chunk_id="p2")
    assert ask(answerer, "What made the Wuhu leaders symposium significant?", chatty).text == f"{held} [1]"
    # The best sentence gives its own reason: nothing more is needed.
    because = "The regional leaders symposium was held in Wuhu because the city had a new bridge."
    reasoned = make_passage(f"{because} {first} The weather in Wuhu was fine.", title="", chunk_id="p3")
    assert ask(answerer, "Why was the leaders symposium held in Wuhu?", reasoned).text == f"{because} [1]"


def test_a_second_sentence_scoring_nearly_as_well_is_quoted_with_its_own_citation(
        answerer: ExtractiveAnswerer) -> None:
    first = make_passage("The Sutong Bridge opened to traffic on June 30, 2008.", chunk_id="a", title="", rank=1)
    second = make_passage("Weather aside, the Sutong Bridge opened to traffic in mid 2008.", chunk_id="b", title="",
                          rank=2)
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?", first, second)
    assert draft.text == ("The Sutong Bridge opened to traffic on June 30, 2008. [1] Weather aside, the Sutong Bridge "
                          "opened to traffic in mid 2008. [2]")
    assert [(c.n, c.chunk_id) for c in draft.citations] == [(1, "a"), (2, "b")]
    # Not when it would make the answer long, nor when it scores well below the best.
    short = ExtractiveAnswerer(abstain_message=ABSTAIN, config=ExtractiveConfig(max_second_words=15))
    assert [c.chunk_id for c in ask(short, "When did the Sutong Bridge open to traffic?", first, second).citations] \
        == ["a"]
    strict = ExtractiveAnswerer(abstain_message=ABSTAIN, config=ExtractiveConfig(second_sentence_ratio=1.01))
    assert len(ask(strict, "When did the Sutong Bridge open to traffic?", first, second).citations) == 1


def test_a_follow_up_does_not_quote_again_what_the_bot_said_when_it_has_something_new(
        answerer: ExtractiveAnswerer) -> None:
    first = make_passage("The Sutong Bridge opened to traffic on June 30, 2008.", chunk_id="a", title="", rank=1)
    second = make_passage("Weather aside, the Sutong Bridge opened to traffic in mid 2008.", chunk_id="b", title="",
                          rank=2)
    question = "When did it open to traffic?"
    standalone = f"{question} (Sutong Bridge)"
    said = ["The Sutong Bridge opened to traffic on June 30, 2008. [1]"]
    draft = ask(answerer, question, first, second, standalone_question=standalone, said=said)
    assert draft.text == "Weather aside, the Sutong Bridge opened to traffic in mid 2008. [1]"
    assert [c.chunk_id for c in draft.citations] == ["b"]
    # Said before and nothing new beside it: it is still the answer.
    assert ask(answerer, question, first, standalone_question=standalone, said=said).text == said[0]
    # A question that stands alone (asked again) gets the whole answer again.
    again = ask(answerer, "When did the Sutong Bridge open to traffic?", first, second, said=said)
    assert len(again.citations) == 2


def test_an_open_follow_up_that_would_only_hear_the_last_answer_again_is_declined(
        answerer: ExtractiveAnswerer) -> None:
    passengers = make_passage("From January to October, Jiangsu carried 600 million passengers, up 529%.",
                              chunk_id="a", title="", rank=1)
    said = ["From January to October, Jiangsu carried 600 million passengers, up 529%. [1]"]
    standalone = "Why did it matter? (Jiangsu; January to October; passengers carry)"
    assert ask(answerer, "Why did it matter?", passengers, standalone_question=standalone, said=said).abstained
    # ... nor one with no words of its own.
    assert ask(answerer, "Why?", passengers, standalone_question="Why? (Jiangsu; passengers)", said=said).abstained
    # Not said before, it is an answer (the question's subject is all it shares).
    assert not ask(answerer, "Why did it matter?", passengers, standalone_question=standalone).abstained
    # A repeat that holds the kind of fact asked for is the answer: the last answer gave the size.
    shibei = make_passage("Shibei High-tech City is only 5.2 square kilometers.", chunk_id="s", title="", rank=1)
    draft = ask(answerer, "how big is it?", shibei, standalone_question="how big is it? (Shibei High-tech City)",
                said=["Shibei High-tech City is only 5.2 square kilometers. [1]"])
    assert not draft.abstained and "5.2 square kilometers" in draft.text


def test_a_near_tied_sentence_just_before_the_best_joins_its_quote() -> None:
    text = "In mid 2008, the Sutong Bridge opened to traffic. The Sutong Bridge opened to traffic on June 30, 2008."
    vectors = np.array([[0.5, 0.75 ** 0.5, 0, 0], [0.6, 0.64 ** 0.5, 0, 0]], dtype=np.float32)
    passage = make_passage(text, title="", sentvecs=pack_vectors(vectors))
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN, dimension=4)
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?", passage,
                query_vector=np.array([1, 0, 0, 0], dtype=np.float32))
    assert draft.text == f"{text} [1]"
    assert [(c.quote_start, c.quote_end) for c in draft.citations] == [(0, len(text))]


def test_a_counted_sentence_beats_one_that_merely_reads_close(answerer: ExtractiveAnswerer) -> None:
    # "How many years": a sentence that reads very close but counts companies (allowed by min_dense_uncounted)
    # loses to a supported one that counts years.
    close = make_passage("Shibei has been growing fast and attracted nearly 300 companies.", chunk_id="a", title="",
                         rank=1, dense=0.75)
    counted = make_passage("After more than ten years, Shibei is a tech city.", chunk_id="b", title="", rank=2,
                           dense=0.4)
    draft = ask(answerer, "How many years has Shibei been growing?", close, counted)
    assert [c.chunk_id for c in draft.citations] == ["b"]


def test_a_sentence_counting_what_how_many_asks_about_needs_less_evidence(answerer: ExtractiveAnswerer) -> None:
    # Coverage 0.5 + similarity 0.45: short of the 1.0 other specific answers need, enough for a counted one.
    text = ("From January to October, the province's transport carried a total of 600 million passengers. "
            "The weather in the province was fine that year.")
    question = "How many passengers did the Jiangsu railways carry?"
    assert not ask(answerer, question, make_passage(text, title="Jiangsu", dense=0.45)).abstained
    strict = ExtractiveAnswerer(abstain_message=ABSTAIN, config=ExtractiveConfig(min_evidence_counted=1.0))
    assert ask(strict, question, make_passage(text, title="Jiangsu", dense=0.45)).abstained


def test_a_cut_off_clause_is_quoted_with_an_ellipsis(answerer: ExtractiveAnswerer) -> None:
    # The seeds' articles end mid-sentence ("...will reach"): the clause is quoted as it stands, marked cut off.
    text = "Nantong sits on the Yangtze River. The Sutong Bridge opened to traffic on June 30, 2008 and will reach"
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?", make_passage(text))
    [citation] = draft.citations
    assert citation.quote == text[len("Nantong sits on the Yangtze River. "):]
    assert draft.text == f"{citation.quote} … [1]"


def test_a_cut_off_clause_does_not_trail_an_answer_it_adds_nothing_to(answerer: ExtractiveAnswerer) -> None:
    text = ("On November 8, Kunshan released its metaverse action plan in Shanghai. The metaverse action plan of "
            "Kunshan proposes that by 2025 its industries will reach")
    draft = ask(answerer, "When did Kunshan release its metaverse action plan?", make_passage(text, title=""))
    assert draft.text == "On November 8, Kunshan released its metaverse action plan in Shanghai. [1]"


def test_a_short_cut_off_fragment_is_never_quoted(answerer: ExtractiveAnswerer) -> None:
    text = "Nantong sits on the Yangtze River. The Sutong Bridge opened in"
    candidates = answerer.rank_sentences("When did the Sutong Bridge open to traffic?", [make_passage(text)],
                                         query_vector=None, idf=FakeIdf())
    assert [c.text for c in candidates] == ["Nantong sits on the Yangtze River."]


def test_a_cut_off_fragment_does_not_answer_an_open_question(answerer: ExtractiveAnswerer) -> None:
    # "By 2006, Jiaxing had combined with the local" gives a year, but tells nothing about Jiaxing.
    text = "Jiaxing is a city. By 2006, Jiaxing had combined with the local"
    open_question = answerer.rank_sentences("Tell me about Jiaxing", [make_passage(text)], query_vector=None,
                                            idf=FakeIdf())
    assert [c.text for c in open_question] == ["Jiaxing is a city."]
    dated = answerer.rank_sentences("When had Jiaxing combined with the local?", [make_passage(text)],
                                    query_vector=None, idf=FakeIdf())
    assert "By 2006, Jiaxing had combined with the local" in [c.text for c in dated]


def test_a_span_running_past_a_sentence_end_is_cut_back_to_it(answerer: ExtractiveAnswerer) -> None:
    text = f"{OPENED} Four more crossings will start in"
    passage = make_passage(text, spans=[[0, len(text)]])  # the chunker kept both in one span
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?", passage)
    assert draft.citations[0].quote == OPENED
    assert (draft.citations[0].quote_start, draft.citations[0].quote_end) == (0, len(OPENED))


def test_too_short_sentences_are_skipped(answerer: ExtractiveAnswerer) -> None:
    passage = make_passage("Yes it did. The Sutong Bridge opened in 2008.")
    texts = [c.text for c in answerer.rank_sentences("When did it open?", [passage], query_vector=None,
                                                     idf=FakeIdf())]
    assert texts == ["The Sutong Bridge opened in 2008."]


@pytest.mark.parametrize("question", [
    "What is the recipe for chocolate cake?",  # no word of it in the passage
    "Who designed the Sutong Bridge?",  # on topic, but no person's name to give
    "When did the Hangzhou Metro open?",  # a date is there, but about another name
    "How many trains cross the Sutong Bridge every day?",  # a number is there, but of vehicles
])
def test_abstains_without_evidence(answerer: ExtractiveAnswerer, question: str) -> None:
    draft = ask(answerer, question, make_passage(BRIDGE, dense=0.5))
    assert draft.abstained
    assert draft.text == ABSTAIN
    assert draft.citations == []


def test_abstains_without_passages(answerer: ExtractiveAnswerer) -> None:
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?")
    assert (draft.text, draft.abstained, draft.citations, draft.evidence) == (ABSTAIN, True, [], {"candidates": 0})


def test_abstains_when_the_supported_sentence_scores_far_below_the_best(answerer: ExtractiveAnswerer) -> None:
    question = "When did the Sutong Bridge open to traffic?"
    # Best: dense 0.9 + coverage 1.0 + kind 0 (no date) + rank 0.15 = 2.05.
    best = make_passage("The Sutong Bridge opened to traffic with a big ceremony.", title="", dense=0.9)
    # Supported: dense 0.5 + coverage 0.75 + kind 0.35 + rank 0.15 / 2 = 1.675, 0.375 below it (gap allowed 0.15).
    supported = make_passage("The Sutong Bridge fully opened in 2010.", chunk_id="p2", title="", dense=0.5,
                             rank=2)
    assert ask(answerer, question, best, supported).abstained
    lenient = ExtractiveAnswerer(abstain_message=ABSTAIN, config=ExtractiveConfig(max_score_gap=0.5))
    draft = ask(lenient, question, best, supported)
    assert draft.text == "The Sutong Bridge fully opened in 2010. [1]"
    assert draft.citations[0].chunk_id == "p2"


@pytest.mark.parametrize(("question", "abstains"), [
    ("Who is the mayor of Huai'an?", True),  # a deputy mayor is not the mayor
    ("Who is the deputy mayor of Huai'an?", False),
    ("Who is the vice-mayor of Huai'an?", False),
])
def test_a_rank_qualifier_the_question_lacks_does_not_cover_its_title(answerer: ExtractiveAnswerer, question: str,
                                                                      abstains: bool) -> None:
    text = "Xu Hong, deputy mayor of Huai'an City, spoke at the park. The park in Huai'an makes robots."
    passage = make_passage(text, title="", dense=0.45)
    assert ask(answerer, question, passage).abstained is abstains


def test_the_former_meaning_the_first_of_two_qualifies_nothing(answerer: ExtractiveAnswerer) -> None:
    passage = make_passage("Two lists came out. The former selected 50 leading enterprises in Kunshan.", title="")
    ranked = answerer.rank_sentences("Which enterprises were selected in Kunshan?", [passage], query_vector=None,
                                     idf=FakeIdf())
    assert ranked[0].coverage == pytest.approx(1.0)


def test_a_person_is_covered_only_by_their_whole_name(answerer: ExtractiveAnswerer) -> None:
    # "Xu Hong" shares the surname of "Xu Xiaoyu", not the person.
    text = ("Xu Hong, deputy mayor of Huai'an, leads the Ninghuai park. "
            "The Jiangyin-Jingjiang park is the pride of Xu Xiaoyu and his city.")
    ranked = answerer.rank_sentences("Which park is Xu Xiaoyu proud of?", [make_passage(text, title="")],
                                     query_vector=None, idf=FakeIdf())
    coverage = {c.text.split()[0]: c.coverage for c in ranked}
    # Of xu, xiaoyu, park, proud: the first sentence covers only "park" (its window has no "Xiaoyu");
    # the second covers the whole name and the park.
    assert coverage["Xu"] == pytest.approx(1 / 4)
    assert coverage["The"] == pytest.approx(3 / 4)
    # A word of an organisation's or place's name still counts on its own ("Huai'an" of "Huai'an City").
    ranked = answerer.rank_sentences("What does Huai'an City make?", [make_passage(text, title="")],
                                     query_vector=None, idf=FakeIdf())
    assert {c.text.split()[0]: c.coverage for c in ranked}["Xu"] == pytest.approx(1 / 3)


def test_low_dense_similarity_abstains(answerer: ExtractiveAnswerer) -> None:
    # Same words, but dense 0.2 < min_dense 0.3.
    assert ask(answerer, "When did the Sutong Bridge open to traffic?", make_passage(BRIDGE, dense=0.2)).abstained
    # ... unless the question is typed in lower case, which the model reads poorly ("xi" is no name to it), and the
    # sentence holds every word of it.
    assert not ask(answerer, "when did the sutong bridge open to traffic", make_passage(BRIDGE, dense=0.2)).abstained
    assert ask(answerer, "when did the sutong bridge open to cars", make_passage(BRIDGE, dense=0.2)).abstained
    # ... or it names a figure of several ("1+14"), which a long sentence holding it gives.
    pilots = 'Next, we will focus on promoting the "1+14" provincial pilot areas to realise the value of products.'
    passage = make_passage(pilots, dense=0.1, title="", chunk_id="p9")
    assert not ask(answerer, "What are the 1+14 pilot areas?", passage).abstained
    assert ask(answerer, "What are the 1+15 pilot areas?", passage).abstained


def test_a_sentence_sharing_words_only_through_its_title_does_not_answer() -> None:
    # "Why is Zhejiang said to have bad flavor?": the title holds every word, the body none; every sentence of the
    # article would otherwise "cover" the question.
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN, dimension=4)
    text = "Strolling around the old street, I smelled food. This street has been around for some years."
    vectors = np.array([[0.45, 0.89, 0, 0], [0.38, 0.92, 0, 0]], dtype=np.float32)
    title = 'Zhejiang has "bad flavor", but who says there is no good Baijiu in Zhejiang?'
    passage = make_passage(text, title=title, dense=0.0, sentvecs=pack_vectors(vectors))
    query = np.array([1, 0, 0, 0], dtype=np.float32)
    draft = answerer.answer("Why is Zhejiang said to have bad flavor?", [passage], query_vector=query, idf=FakeIdf())
    assert draft.abstained and not draft.citations
    # A sentence with a word of the question in it answers as before.
    said = make_passage("Zhejiang is said to have bad flavor because its wine is mild. This street is old.",
                        chunk_id="p2", title=title, dense=0.0, sentvecs=pack_vectors(vectors))
    draft = answerer.answer("Why is Zhejiang said to have bad flavor?", [said], query_vector=query, idf=FakeIdf())
    assert not draft.abstained and "mild" in draft.text


def test_an_open_follow_up_about_something_else_abstains() -> None:
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN, dimension=4)
    vectors = np.array([[0.8, 0.6, 0, 0]] * 4, dtype=np.float32)
    passage = make_passage(BRIDGE, dense=0.0, sentvecs=pack_vectors(vectors))
    query = np.array([1, 0, 0, 0], dtype=np.float32)

    def ask_after_the_bridge(question: str, own: list[float] | None):
        embed = None if own is None else (lambda text: np.array(own, dtype=np.float32))
        return answerer.answer(question, [passage], query_vector=query, idf=FakeIdf(),
                               standalone_question=f"{question} (Sutong Bridge)", embed=embed)

    # No sentence holds "weather" or "tomorrow", and the words alone read far from every sentence.
    assert ask_after_the_bridge("What is the weather tomorrow?", [0, 0, 1, 0]).abstained
    # Read close (a paraphrase), or with no way to tell, the subject answers as before.
    assert not ask_after_the_bridge("What is the weather tomorrow?", [0.6, 0.8, 0, 0]).abstained
    assert not ask_after_the_bridge("What is the weather tomorrow?", None).abstained
    # Words asking for more about the subject ask about the subject.
    assert not ask_after_the_bridge("Why did it matter?", [0, 0, 1, 0]).abstained


@pytest.mark.parametrize("question", [
    "Tell me about the Sutong Bridge", "Give me three facts about the Sutong Bridge",
    "Summarize the article about the Sutong Bridge", "Can you give me an overview of the Sutong Bridge?",
])
def test_an_overview_quotes_up_to_three_sentences_on_its_subject(answerer: ExtractiveAnswerer, question: str) -> None:
    text = ("The Sutong Bridge opened to traffic on June 30, 2008. Nantong sits on the Yangtze River. The Sutong "
            "Bridge carries 90,000 vehicles every day. A second Sutong Bridge passage will start soon.")
    draft = ask(answerer, question, make_passage(text, title="Crossings"))
    assert not draft.abstained
    assert "June 30, 2008" in draft.text and "90,000 vehicles" in draft.text and "second Sutong" in draft.text
    assert "Yangtze" not in draft.text  # not on the subject
    # Each quote its own [n]; the two sentences next to each other share one.
    assert [c.quote.split()[:3] for c in draft.citations] == [["The", "Sutong", "Bridge"], ["The", "Sutong", "Bridge"]]
    assert "A second Sutong" in draft.citations[1].quote
    # Its own words ("give", "facts", "summarize") are not searched for.
    assert draft.evidence["coverage"] == pytest.approx(1.0)


def test_the_headline_repeated_in_the_text_is_not_quoted(answerer: ExtractiveAnswerer) -> None:
    title = "Think of Jiaxing as soon as the Dragon Boat Festival arrives?"
    text = f"{title} Jiaxing zongzi are sold on every expressway. Jiaxing began its festivals in 1997."
    draft = ask(answerer, "Tell me about Jiaxing and the Dragon Boat Festival", make_passage(text, title=title))
    assert not draft.abstained and "Think of" not in draft.text and "expressway" in draft.text


def test_summarize_the_article_quotes_that_article_alone(answerer: ExtractiveAnswerer) -> None:
    kunshan = make_passage("Kunshan held the largest metaverse exhibition. Kunshan released its metaverse plan.",
                           title="Kunshan metaverse exhibition", source="a.txt", article=1)
    other = make_passage("Wu Xinming was secretary of Kunshan in 2020. Kunshan joined the zone.", chunk_id="p2",
                         title="Nantong interview", source="a.txt", article=0, rank=2)
    summary = ask(answerer, "Summarize the article about Kunshan", kunshan, other)
    assert {c.chunk_id for c in summary.citations} == {"p1"}
    # Asked about Kunshan, not an article: both may answer.
    told = ask(answerer, "Tell me about Kunshan", kunshan, other)
    assert {c.chunk_id for c in told.citations} == {"p1", "p2"}


def test_a_name_in_the_sentence_before_answers_for_a_sentence_that_says_he(answerer: ExtractiveAnswerer) -> None:
    text = ("The street owes much to Wang Congde, a young minister. He moved from Hangzhou to Ningxi to avoid chaos. "
            "The town grew.")
    draft = ask(answerer, "Who moved from Hangzhou to Ningxi?", make_passage(text, title=""))
    # Quoted with the sentence that names him.
    assert draft.text == ("The street owes much to Wang Congde, a young minister. He moved from Hangzhou to Ningxi to "
                          "avoid chaos. [1]")


def test_a_list_opened_in_one_sentence_is_quoted_with_its_later_items(answerer: ExtractiveAnswerer) -> None:
    # The items stand apart, and the third is in the next passage of the same article.
    first = ("Nantong will seek breakthroughs in three aspects: First, seek breakthroughs in the cooperation model. "
             "Explore models such as enclave incubation. For example, a branch center opened in the city. "
             "The second is to seek breakthroughs in cooperation vehicles.")
    second = "The second is to seek breakthroughs in cooperation vehicles. The third is to seek breakthroughs in rules."
    one = make_passage(first, title="Nantong zone", article=0, start=0)
    two = make_passage(second, chunk_id="p2", title="Nantong zone", article=0, start=len(first) - 60, rank=2)
    draft = ask(answerer, "What breakthroughs does Nantong seek?", one, two)
    assert [c.quote.split(",")[0].split(":")[-1].strip()[:14] for c in draft.citations] == [
        "First", "The second is ", "The third is t"]
    assert "enclave" not in draft.text
    # A question asking for a date wants the date, not the list's next item.
    dated = make_passage("The city changed in two ways. First, the Sutong Bridge opened to traffic on June 30, 2008. "
                         "Trade grew.", chunk_id="p3", title="Changes", article=0, start=0)
    later = make_passage("Trade grew. Finally, the Sutong Bridge museum opened in 2020, with exhibits.", chunk_id="p4",
                         title="Changes", article=0, start=80, rank=2)
    assert "museum" not in ask(answerer, "When did the Sutong Bridge open to traffic?", dated, later).text
    # A question about the first item gets its details, not the list.
    models = ask(answerer, "Which cooperation models is Nantong exploring?", one, two)
    assert "enclave incubation" in models.text and "third" not in models.text
    # A question counting the items asks for all of them, however it is worded ("In which", a digit).
    for question in ("In which three aspects will Nantong seek breakthroughs?",
                     "What are the 3 breakthroughs Nantong seeks?"):
        counted = ask(answerer, question, one, two)
        assert [c.quote.split(",")[0].split(":")[-1].strip()[:14] for c in counted.citations] == [
            "First", "The second is ", "The third is t"], question


def test_tell_me_more_goes_on_in_the_article_the_last_answer_quoted(answerer: ExtractiveAnswerer) -> None:
    quoted = make_passage("Liu Xu said GEP practices will spread. Liu Xu said the GEP pilot cities grow.",
                          chunk_id="a", source="strategies.txt", article=1)
    other = make_passage("Learn from GEP practices of other cities.", chunk_id="b", source="nantong.txt", article=1,
                         rank=2)
    said = ["Liu Xu said GEP practices will spread. [1]"]
    more = ask(answerer, "Tell me more", other, quoted, standalone_question="Tell me more (Liu Xu; GEP)", said=said)
    assert "pilot cities grow" in more.text and "other cities" not in more.text


def test_tell_me_more_quotes_what_the_conversation_has_not(answerer: ExtractiveAnswerer) -> None:
    text = ("The Sutong Bridge opened to traffic on June 30, 2008. Nantong sits on the Yangtze River. The Sutong "
            "Bridge carries 90,000 vehicles every day. A second Sutong Bridge passage will start soon.")
    passage = make_passage(text, title="Crossings")
    said = ["The Sutong Bridge opened to traffic on June 30, 2008. [1]"]
    more = ask(answerer, "Tell me more", passage, standalone_question="Tell me more (Sutong Bridge; open)", said=said)
    assert not more.abstained and "June 30" not in more.text
    assert "90,000 vehicles" in more.text and "second Sutong" in more.text
    # "keep going" asks for more too: its words are not searched for.
    going = ask(answerer, "keep going", passage, standalone_question="keep going (Sutong Bridge; open)", said=said)
    assert going.text == more.text
    # Everything on the subject already said: nothing more to tell.
    said.append(more.text)
    assert ask(answerer, "what else?", passage, standalone_question="what else? (Sutong Bridge; open)",
               said=said).abstained
    # ... and saying so, where the pipeline gives the message.
    told = ExtractiveAnswerer(abstain_message=ABSTAIN, nothing_more_message="That is all.")
    assert ask(told, "what else?", passage, standalone_question="what else? (Sutong Bridge; open)",
               said=said).text == "That is all."


def test_what_else_asks_for_what_the_conversation_has_not_quoted() -> None:
    """"What else is Jiaxing doing for the festival?" quoted again the sentence just given."""
    told = ExtractiveAnswerer(abstain_message=ABSTAIN, nothing_more_message="That is all.")
    text = ("Jiaxing uses the Dragon Boat Festival to build its brand image. "
            "Since 1997, Jiaxing has held a folk festival at the Dragon Boat Festival.")
    passage = make_passage(text, title="")
    question = standalone = "What else is Jiaxing doing for the festival?"
    said = ["Jiaxing uses the Dragon Boat Festival to build its brand image. [1]"]
    draft = ask(told, question, passage, standalone_question=standalone, said=said)
    assert not draft.abstained and "Since 1997" in draft.text and "brand image" not in draft.text
    said.append(draft.text)
    assert ask(told, question, passage, standalone_question=standalone, said=said).text == "That is all."
    # Nothing on the subject at all: the plain decline, not "that is all" (which says the articles cover it).
    other = "Who else won the World Cup?"
    assert ask(told, other, passage, standalone_question=other, said=said).text == ABSTAIN


def test_tell_me_more_does_not_quote_again_what_a_new_sentence_points_back_to(answerer: ExtractiveAnswerer) -> None:
    # "This fully reflects ..." leans on the sentence before; the conversation has quoted that one already.
    text = ("The Sutong Bridge opened to traffic in 2008. The Sutong Bridge carries 90,000 vehicles every day. "
            "This fully reflects the Sutong Bridge's close exchanges with Shanghai.")
    said = ["The Sutong Bridge carries 90,000 vehicles every day. [1]"]
    more = ask(answerer, "Tell me more", make_passage(text, title="Crossings"),
               standalone_question="Tell me more (Sutong Bridge; vehicles)", said=said)
    assert not more.abstained and "90,000" not in more.text and "This fully reflects" in more.text


def test_the_follow_ups_subject_counts_from_the_standalone_question(answerer: ExtractiveAnswerer) -> None:
    passage = make_passage(BRIDGE, title="")
    alone = ask(answerer, "How many vehicles use it every day?", passage)
    resolved = ask(answerer, "How many vehicles use it every day?", passage,
                   standalone_question="How many vehicles use it every day? (Sutong Bridge; open traffic)")
    assert not resolved.abstained
    assert "90,000 vehicles" in resolved.text and resolved.text.endswith("[1]")
    assert resolved.evidence["coverage"] >= alone.evidence["coverage"]


def test_rare_terms_weigh_more(answerer: ExtractiveAnswerer) -> None:
    # Two sentences each cover one of two terms; the rarer term (idf 4 -> weight 2 vs 1) wins.
    passage = make_passage("The Sutong crossing is busy today. The bridge is long and busy today.", title="")
    ranked = answerer.rank_sentences("Sutong bridge?", [passage], query_vector=None,
                                     idf=FakeIdf({"sutong": 4.0, "bridge": 1.0}))
    assert ranked[0].text == "The Sutong crossing is busy today."
    assert ranked[0].coverage == pytest.approx(2 / 3) and ranked[1].coverage == pytest.approx(1.0)


def test_sentence_vectors_give_each_sentence_its_own_similarity() -> None:
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN, dimension=4)
    text = "The Sutong Bridge opened to traffic in 2008. The Sutong Bridge closed to traffic in 2009."
    vectors = np.array([[0, 1, 0, 0], [1, 0, 0, 0]], dtype=np.float32)
    passage = make_passage(text, title="", dense=0.0, sentvecs=pack_vectors(vectors))
    query = np.array([1, 0, 0, 0], dtype=np.float32)
    ranked = answerer.rank_sentences("When did the Sutong Bridge open to traffic?", [passage], query_vector=query,
                                     idf=FakeIdf())
    assert {c.text: c.dense for c in ranked} == {"The Sutong Bridge opened to traffic in 2008.": 0.0,
                                                 "The Sutong Bridge closed to traffic in 2009.": 1.0}
    # Vectors that do not match the sentences are ignored: the passage's dense score is used instead.
    stale = make_passage(text, chunk_id="stale", title="", dense=0.7, sentvecs=pack_vectors(vectors[:1]))
    assert {c.dense for c in answerer.rank_sentences("When?", [stale], query_vector=query, idf=FakeIdf())} == {0.7}


def test_passage_analysis_is_cached_by_chunk_id_until_clear(answerer: ExtractiveAnswerer) -> None:
    question = "When did the Sutong Bridge open to traffic?"

    def sentences(a: ExtractiveAnswerer, passage) -> list[str]:
        return [c.text for c in a.rank_sentences(question, [passage], query_vector=None, idf=FakeIdf())]

    ask(answerer, question, make_passage(BRIDGE, chunk_id="same"))
    # A chunk's text never changes under its id, so the analysis of the first passage is reused for the second ...
    replaced = make_passage("Cakes need flour and sugar. Bake them for an hour in the oven.", chunk_id="same")
    fresh = sentences(ExtractiveAnswerer(abstain_message=ABSTAIN), replaced)
    assert sentences(answerer, replaced) != fresh
    # ... until clear() (after re-indexing in the same process).
    answerer.clear()
    assert sentences(answerer, replaced) == fresh


def test_a_chunk_whose_file_changed_is_analysed_again(answerer: ExtractiveAnswerer) -> None:
    """Re-indexed while the server runs, a kept chunk (same text and id) may have a new title: its file hash says."""
    question = "When did the Sutong Bridge open?"
    text = "It opened to traffic on June 30, 2008, after six years of work."
    untitled = make_passage(text, chunk_id="same", title="A crossing", file_sha="a")
    titled = make_passage(text, chunk_id="same", title="The Sutong Bridge", file_sha="b")
    before = answerer.rank_sentences(question, [untitled], query_vector=None, idf=FakeIdf())[0].coverage
    after = answerer.rank_sentences(question, [titled], query_vector=None, idf=FakeIdf())[0].coverage
    assert after > before


def test_spans_fall_back_to_punctuation_when_metadata_has_none(answerer: ExtractiveAnswerer) -> None:
    passage = make_passage(BRIDGE)
    bare = type(passage)(chunk_id="p1", text=BRIDGE, metadata={"title": "T"}, score=1.0, rank=1, dense_score=0.8)
    draft = ask(answerer, "When did the Sutong Bridge open to traffic?", bare)
    assert draft.text.startswith("The Sutong Bridge opened to traffic on June 30, 2008.")
    citation = draft.citations[0]
    assert citation.text[citation.quote_start:citation.quote_end] == citation.quote


def test_median_answer_is_short(answerer: ExtractiveAnswerer) -> None:
    long_passage = make_passage(" ".join([BRIDGE] + [f"Filler sentence number {i} says nothing much." for i in
                                                     range(30)]))
    questions = ["When did the Sutong Bridge open to traffic?", "How many vehicles use the Sutong Bridge every day?",
                 "How many more crossings will start in 2022?", "Where does Nantong sit?"]
    words = []
    for question in questions:
        draft = ask(answerer, question, long_passage)
        if not draft.abstained:
            words.append(len(draft.text.split()))
            assert draft.text.count(".") <= 3
    assert len(words) >= 3
    assert statistics.median(words) <= 25, words
    assert max(words) <= ExtractiveConfig().max_answer_words


def test_spans_helper_matches_the_chunkers_format() -> None:
    assert [BRIDGE[a:b] for a, b in sentence_spans(BRIDGE)][1:3] == [OPENED, CARRIES]


# --- paraphrases: a sentence far closer in meaning than any other ------------------------------------------------

FARM = ("Nantong trades with Shanghai every day. More than 40% of Nantong's agricultural and sideline products are "
        "supplied to Shanghai.")


def _two_sentence_passage(closeness: tuple[float, float]):
    # Unit vectors whose dot product with the query [1, 0, 0, 0] is each sentence's dense similarity.
    vectors = np.array([[c, (1 - c * c) ** 0.5, 0, 0] for c in closeness], dtype=np.float32)
    return make_passage(FARM, chunk_id=f"farm-{closeness}", title="", dense=0.0, sentvecs=pack_vectors(vectors))


def test_a_paraphrase_far_closer_in_meaning_than_the_rest_is_answered() -> None:
    answerer = ExtractiveAnswerer(abstain_message=ABSTAIN, dimension=4)
    query = np.array([1, 0, 0, 0], dtype=np.float32)
    question = "How much of the farm produce ends up in Shanghai?"  # 1 of its 4 words in the text
    draft = answerer.answer(question, [_two_sentence_passage((0.3, 0.7))], query_vector=query, idf=FakeIdf())
    assert not draft.abstained
    assert "40%" in draft.text
    # Two sentences about as close: no stand-out, too few shared words, and not close enough to lead on
    # meaning alone, so it abstains.
    close = answerer.answer(question, [_two_sentence_passage((0.44, 0.45))], query_vector=query, idf=FakeIdf())
    assert close.abstained
    # The best-scoring sentence when it is close in meaning (min_dense_leader) is answered though the other is too.
    leading = answerer.answer(question, [_two_sentence_passage((0.69, 0.7))], query_vector=query, idf=FakeIdf())
    assert not leading.abstained and "40%" in leading.text


def test_a_year_the_question_states_must_be_in_the_passage(answerer: ExtractiveAnswerer) -> None:
    passage = make_passage("Jiangsu's GDP reached 12.8 trillion yuan in 2022.", title="")
    assert not ask(answerer, "What was Jiangsu's GDP in 2022?", passage).abstained
    assert ask(answerer, "What was Jiangsu's GDP in 2023?", passage).abstained


# --- questions about the article itself (its dateline and byline) -------------------------------------------

@pytest.mark.parametrize(("question", "field"), [
    ("When was the interview with Wu Xinming published?", "published"),
    ("When was the article about Jiangsu's two strategies updated?", "published"),
    ("What is the publication date of the bridge story?", "published"),
    ("Who reviewed the Xinhua article on Jiangsu?", "reviewer"),
    ("Who edited the article about Jiangsu?", "editor"),
    ("Who wrote the story about the bridge?", "author"),
    ("Which news agency is the source of the article?", "agency"),
    ("what time of day did the Wu Xinming interview piece go up?", "published_time"),
    ("What is the release time of the bridge story?", "published_time"),
    # Its headline, and where it comes from asked yes or no.
    ("What is the headline of the article about Wu Xinming?", "title"),
    ("what's the kunshan article's title", "title"),
    ("What is the interview called?", "title"),
    ("Is the Jiangsu article from Xinhua?", "agency"),
    ("Where was the Wu Xinming interview published?", "outlet"),
    ("which paper ran the Nantong interview?", "outlet"),
    ("Where was the bridge built, according to the article?", None),
    ("What is Wu Xinming's title?", None),  # his post
    ("What is Meng Qingdong's title according to the article?", None),
    ("What is the title of the person quoted in the interview?", None),
    ("Is Meng Qingdong in the article from Suzhou Canny?", None),
    ("Was the post filled by Wu Xinming?", None),
    ("Is the article about the bridge long?", None),
    ("What time does the bridge open?", None),
    ("What did residents say at the time of the interview?", None),  # about the story
    ("When did Kunshan release its action plan?", None),  # about the story, not the article
    ("Who reviewed the plan?", None),
])
def test_article_fact(question: str, field: str | None) -> None:
    assert article_fact(question) == field


def test_readable_date() -> None:
    assert readable_date("2024-05-14") == "May 14, 2024"
    assert (readable_date("2024-13-01"), readable_date("spring")) == ("2024-13-01", "spring")


def test_readable_time_drops_seconds_and_names_the_zone() -> None:
    # As an HTML page's meta gives it ("2024-05-14T08:15:00+08:00"): a reader wants minutes and a zone.
    assert readable_time("08:15:00+08:00") == "08:15 UTC+08:00"
    assert readable_time("08:15:00.000+0800") == "08:15 UTC+08:00"
    assert readable_time("06:53:00Z") == "06:53 UTC"
    assert readable_time("14:20:11 BJT") == "14:20 BJT"
    assert [readable_time(v) for v in ("10:15", "06:53 AM", "noon")] == ["10:15", "06:53 AM", "noon"]


def _fact_answerer() -> ExtractiveAnswerer:
    library = PromptLibrary()
    return ExtractiveAnswerer(
        abstain_message=ABSTAIN,
        article_fact_message=lambda title, field, value: library.render("article_fact", title=title, field=field,
                                                                        value=value))


def test_a_question_about_the_article_is_answered_from_its_byline() -> None:
    answerer = _fact_answerer()
    passage = make_passage(BRIDGE, reviewer="Zhang Xiang", agency="Xinhua")
    draft = ask(answerer, "Who reviewed the Xinhua article on the Sutong Bridge?", passage)
    assert draft.text == 'The reviewer of "Sutong Bridge opens" is Zhang Xiang. [1]'
    [citation] = draft.citations
    assert (citation.title, citation.quote, citation.chunk_id) == ("Sutong Bridge opens", "Review: Zhang Xiang", "p1")
    dated = ask(answerer, "When was the article about the Sutong Bridge published?", passage)
    assert dated.text == '"Sutong Bridge opens" is dated July 1, 2008. [1]'
    # Its headline, and where it comes from asked yes or no ("Is the bridge article from Xinhua?" was declined).
    titled = ask(answerer, "What is the headline of the article about the Sutong Bridge?", passage)
    assert titled.text == 'The article is titled "Sutong Bridge opens". [1]'
    assert titled.citations[0].quote == "Title: Sutong Bridge opens"
    sourced = ask(answerer, "Is the bridge article from Xinhua?", passage)
    assert sourced.text == '"Sutong Bridge opens" comes from Xinhua. [1]'


def test_a_follow_up_asks_its_field_of_the_article_the_conversation_was_about() -> None:
    answerer = _fact_answerer()
    passage = make_passage(BRIDGE, reviewer="Zhang Xiang", agency="Xinhua")
    # The subject carried over calls it an article ("Who edited the Sutong Bridge article?" before).
    reviewed = ask(answerer, "who reviewed it", passage, standalone_question="who reviewed it (Sutong; article)")
    assert reviewed.text == 'The reviewer of "Sutong Bridge opens" is Zhang Xiang. [1]'
    # ... or the last answer named it by its title.
    said = ['"Sutong Bridge opens" is dated July 1, 2008. [1]']
    agency = ask(answerer, "what news agency?", passage, standalone_question="what news agency? (Sutong)", said=said)
    assert agency.text == '"Sutong Bridge opens" comes from Xinhua. [1]'
    # Neither: a question about the news, not the article.
    assert ask(answerer, "who reviewed it", passage, standalone_question="who reviewed it (Sutong)").abstained
    # A question naming its own subject asks about that, not the article's byline.
    assert "Zhang Xiang" not in ask(answerer, "Who reviewed the bridge design?", passage,
                                    standalone_question="Who reviewed the bridge design? (Sutong; article)").text


def test_a_question_about_the_time_of_an_article_is_answered_from_its_dateline() -> None:
    answerer = _fact_answerer()
    passage = make_passage(BRIDGE, published_time="06:53 AM")
    draft = ask(answerer, "What time was the Sutong Bridge article posted?", passage)
    assert draft.text == '"Sutong Bridge opens" was published at 06:53 AM on July 1, 2008. [1]'
    assert draft.citations[0].quote == "Dated: 2008-07-01 06:53 AM"
    dated = ask(answerer, "When was the article about the Sutong Bridge published?", passage)
    assert dated.text == '"Sutong Bridge opens" is dated July 1, 2008, 06:53 AM. [1]'
    # A dateline without a time: the answer says so, and gives the day it does give.
    untimed = ask(answerer, "What time was the Sutong Bridge article posted?", make_passage(BRIDGE))
    assert untimed.text == '"Sutong Bridge opens" is dated July 1, 2008; it does not give a time of day. [1]'
    # A machine-written time reads as a clock time; the quote keeps it as the article gives it.
    stamped = ask(answerer, "What time was the Sutong Bridge article posted?",
                  make_passage(BRIDGE, published_time="06:53:00+08:00"))
    assert stamped.text == '"Sutong Bridge opens" was published at 06:53 UTC+08:00 on July 1, 2008. [1]'
    assert stamped.citations[0].quote == "Dated: 2008-07-01 06:53:00+08:00"
    assert not untimed.abstained and untimed.citations[0].quote == "Dated: 2008-07-01"
    # No date at all: nothing to say.
    undated = make_passage(BRIDGE, published="")
    assert ask(answerer, "What time was the Sutong Bridge article posted?", undated).abstained
    assert ask(answerer, "When was the Sutong Bridge article published?", undated).text.endswith(
        "does not give its date.")


def test_the_article_whose_title_the_question_names_answers_though_it_ranks_lower() -> None:
    answerer = _fact_answerer()
    top = make_passage(BRIDGE)  # no editor
    other = make_passage("Jiangsu links the two national strategies.", chunk_id="p2",
                         title="Promote the two strategies as a whole", rank=2, editor="Sun Yan")
    draft = ask(answerer, "Who edited the article in the two strategies series?", top, other)
    assert "Sun Yan" in draft.text and draft.citations[0].chunk_id == "p2"
    # A question sharing no title words keeps the best-ranked article (which gives no editor: an abstention).
    assert ask(answerer, "Who edited the article?", top, other).abstained


@pytest.mark.parametrize("question", ["1 When did the Sutong Bridge open?", "alert(1) When did the Sutong Bridge open?",
                                      "Did the Sutong Bridge open before 2010?",
                                      "When did the Sutong Bridge open? (variant 6)",
                                      "When did the Sutong Bridge open? Q6"])
def test_a_stray_digit_or_a_bounding_year_is_not_a_figure_the_answer_must_hold(answerer: ExtractiveAnswerer,
                                                                               question: str) -> None:
    assert "June 30, 2008" in ask(answerer, question, make_passage(BRIDGE)).text


@pytest.mark.parametrize("question", ["When did Metro Line 3 open?", "What will the GDP reach by 2035?"])
def test_a_digit_or_year_the_question_names_must_be_where_the_answer_is(answerer: ExtractiveAnswerer,
                                                                        question: str) -> None:
    text = "By 2030, the city's GDP will reach 2 trillion yuan. Metro Line 2 opened in 2022."
    assert ask(answerer, question, make_passage(text, title="")).abstained


@pytest.mark.parametrize(("question", "abstains"), [
    ("Is the Sutong Bridge the longest bridge in the world?", True),  # the sentences only name the bridge
    ("Did the Sutong Bridge open in 2008?", False),
    ("Does the Sutong Bridge carry 90,000 vehicles every day?", False),
    # A year the question gives need not be where the answer is: the sentence giving 2008 answers "no".
    ("Did the Sutong Bridge open in 2010?", False),
    ("Did the Sutong Bridge close in 2010?", True),  # closing is not opening
    # Asking when, politely: no yes-no question.
    ("Do you know when the Sutong Bridge was completed?", False),
    ("Can you tell me when the Sutong Bridge was finished?", False),
])
def test_a_yes_no_question_needs_a_sentence_about_more_than_its_subject(answerer: ExtractiveAnswerer, question: str,
                                                                       abstains: bool) -> None:
    assert ask(answerer, question, make_passage(BRIDGE)).abstained is abstains


@pytest.mark.parametrize(("question", "abstains"), [
    ("How many new projects will the park attract next year?", False),
    ("How many new projects did the park attract last year?", True),  # the article gives next year's target
    ("How many new projects did the park attract?", False),  # no time asked: the target answers
])
def test_a_sentence_setting_its_fact_in_another_year_than_asked_does_not_answer(answerer: ExtractiveAnswerer,
                                                                               question: str, abstains: bool) -> None:
    text = "The park will ensure that 20 new projects of more than 100 million yuan will be attracted next year."
    assert ask(answerer, question, make_passage(text)).abstained is abstains


@pytest.mark.parametrize(("question", "abstains"), [
    ("When did Nantong's fourth river crossing open?", True),  # the sentence tells of the first
    ("When did Nantong's first river crossing open?", False),
    ("When did the Sutong Bridge open?", False),
])
def test_a_sentence_telling_of_another_of_a_series_does_not_answer(answerer: ExtractiveAnswerer, question: str,
                                                                   abstains: bool) -> None:
    text = "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic."
    assert ask(answerer, question, make_passage(text)).abstained is abstains


def test_ordinals_agree() -> None:
    assert ordinals_agree(ordinals("the fifth session"), "The session proposed it.")  # tells of none
    assert ordinals_agree(ordinals("the fifth session"), "It was the first time.", "The Fifth Session met.")
    assert not ordinals_agree(ordinals("the 4th crossing"), "the 1st bridge")
    # Ordinals that count no series: "for the first time", "first of all".
    assert ordinals("When did it pass a trillion for the first time?") == frozenset()
    assert ordinals_agree(ordinals("When did the bridge open for the first time?"),
                          "The bridge, the second across the river, opened in 2008.")


LIN = "Lin Zhengguo, Secretary of the Party Committee of Wangji Town, Siyang County, said that the town grew."
MENG = "Meng Qingdong, chief engineer of the company, introduced that the demand was released on the platform."
WU = "When the reporter met Wu Xinming, secretary of the Nantong Municipal Party Committee, he had just returned."


METRO = "In June this year, a new batch of elevators from Suzhou Canny was put into use on Suzhou Metro Line 11."


@pytest.mark.parametrize(("question", "sentence", "before", "given"), [
    ("Who is the party secretary of Siyang County?", LIN, "", False),  # the town's, in the county
    ("Who is the party secretary of Wangji Town?", LIN, "", True),
    ("who is the secretary of wangji town mentioned here", LIN, "", True),
    ("Who is Nantong's party secretary?", WU, "", True),
    ("Who is the party secretary of Nantong City?", WU, "", True),  # "City" is the Municipal Committee's
    ("Who is the party secretary of Nantong City quoted in the article?", WU, "", True),
    ("Who is the party secretary of Siyang County?", WU, "", False),
    # "the company" is one the sentence before names.
    ("Who is the chief engineer of Suzhou Canny?", MENG, "Elevators from Suzhou Canny went into use.", True),
    ("Who is the chief engineer of Suzhou Metro?", MENG, "", False),
    # ... the one it names first: the elevators' maker, not the line they went into use on.
    ("Who is the chief engineer of Canny?", MENG, METRO, True),
    ("Who is the chief engineer of Suzhou Metro?", MENG, METRO, False),
    ("Who is the chief engineer of Canny?", MENG, "Canny elevators went into use on Suzhou Metro Line 11.", True),
    # Who runs, leads or is in charge of a body is whoever holds a post of it, whatever the post is called.
    ("Who runs Jingjiang City?", "Xu Xiaoyu, director of Jingjiang City, said.", "", True),
    ("who leads the Nantong Municipal Party Committee", WU, "", True),
    ("Who is in charge of Siyang County?", LIN, "", False),
    # A sentence naming no one by the role asked about, or a question asking no role of anything, may answer.
    ("Who is the mayor of Siyang County?", LIN, "", None),
    ("Who is the secretary?", LIN, "", None),
])
def test_role_given(question: str, sentence: str, before: str, given: bool | None) -> None:
    assert role_given(role_of(question), sentence, before) is given


@pytest.mark.parametrize(("question", "event"), [
    ("When was the Fifth Plenary Session of the 14th Provincial Party Committee held?", "met"),  # or held
    ("When did Suzhou Metro Line 11 open?", "launch"),
    ("When will the second passage be finished?", "complete"),  # "will be" + participle is passive too
    # Where, too: "Where was Wu Xinming born?" is not answered by where he worked; a move is a settling and a leaving.
    ("Where was Wu Xinming born?", "born"),
    ("Where did Wang Congde move?", "settle"),
    ("Where did Wang Congde move?", "leave"),
    # Where something is installed, based or located, the article tells without the word.
    ("Where are the elevators installed?", None),
    ("Where is Canny Elevator based?", None),
    ("What year did the bridge open?", "open"),
    # What a cost is asked of.
    ("How much did the new ferry cost to build?", "build"),
    ("How much did Canny's new lifts cost to develop?", "develop"),
    # The event named before what follows it.
    ("When did Wu Xinming leave Suzhou?", "leave"),
    ("When did the Sutong Bridge close for repairs?", "close"),
    ("When did Xi Jinping visit Nantong?", "visit"),
    # Ending otherwise: a name, a noun, a verb any event is asked with.
    ("When did the Political Bureau call for breakthroughs in integration?", None),
    ("When did it happen?", None),
    ("when will they be done", None),
])
def test_asked_event(question: str, event: str | None) -> None:
    asked = asked_event(question)
    assert (asked is None) if event is None else (asked is not None and stem(event) in asked)


@pytest.mark.parametrize(("question", "abstains"), [
    ("When did Line 11 open?", True),  # the elevators went into use then
    ("When did the elevators go into use?", False),
])
def test_a_date_answers_for_the_event_the_sentence_tells_of(answerer: ExtractiveAnswerer, question: str,
                                                            abstains: bool) -> None:
    text = "In June this year, a new batch of elevators was put into use on Line 11."
    assert ask(answerer, question, make_passage(text)).abstained is abstains


@pytest.mark.parametrize(("unit", "text"), [("square kilometres", "only 5.2 square kilometers"),
                                            ("km", "100 kilometres"), ("kilometers", "100 km"), ("percent", "40%"),
                                            ("tons", "5 tonnes"), ("meters", "1,088 metres")])
def test_a_unit_is_found_in_any_of_its_spellings(unit: str, text: str) -> None:
    assert re.search(unit_pattern(unit), text, re.IGNORECASE)


@pytest.mark.parametrize(("unit", "text"), [("tons", "Tongzhou"), ("tons", "the Su-Tong passage"),
                                            ("miles", "a milestone"), ("hours", "an hourglass")])
def test_a_unit_is_a_whole_word(unit: str, text: str) -> None:
    assert not re.search(unit_pattern(unit), text, re.IGNORECASE)


@pytest.mark.parametrize("filler", [" " * 1900, "\n" * 1900, " ?" * 900])
@pytest.mark.parametrize("asked", ["who is the mayor of", "who runs"])
def test_role_of_a_long_question_takes_no_time(filler: str, asked: str) -> None:
    """A lazy "what it is of" before optional spaces backtracked for 17 s on 1,900 spaces, holding the server."""
    started = time.perf_counter()
    role_of(f"{asked} Nantong{filler}x")
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(("question", "abstains"), [
    ("What percent of the farm products go to Shanghai?", False),  # "percent" written "%"
    ("What share of the farm products go to Shanghai in square kilometers?", True),  # a unit the sentence lacks
])
def test_a_unit_the_question_names_must_be_in_the_answer_in_any_of_its_spellings(answerer: ExtractiveAnswerer,
                                                                                 question: str, abstains: bool) -> None:
    text = "More than 40% of the farm products are supplied to Shanghai and surrounding areas."
    assert ask(answerer, question, make_passage(text)).abstained is abstains


@pytest.mark.parametrize(("question", "abstains"), [
    ("How many cars use the bridge on holidays?", False),  # cars are vehicles
    ("How many ships use the bridge on holidays?", True),
])
def test_how_many_counts_what_the_sentence_counts_by_another_name(answerer: ExtractiveAnswerer, question: str,
                                                                  abstains: bool) -> None:
    text = "The bridge carries as many as 130,000 vehicles during holidays."
    # (Not so close in meaning that a number of anything would do.)
    assert ask(answerer, question, make_passage(text, dense=0.5)).abstained is abstains


def test_a_sentence_only_naming_who_spoke_answers_who_not_what(answerer: ExtractiveAnswerer) -> None:
    text = ("Jingjiang City has always been a pioneer in cross-river integration. "
            "Xu Xiaoyu, director of Jingjiang City, said.")
    known = ask(answerer, "What is Jingjiang City known for?", make_passage(text))
    # The speaker's line follows the quote it names the speaker of; it does not answer by itself.
    assert known.text.startswith("Jingjiang City has always been a pioneer") and known.text.endswith("said. [1]")
    who = ask(answerer, "Who is Xu Xiaoyu?", make_passage(text))
    assert who.text == "Xu Xiaoyu, director of Jingjiang City, said. [1]"


def test_the_measure_a_how_question_asks_for_is_no_word_the_answer_must_share(answerer: ExtractiveAnswerer) -> None:
    long_time = make_passage("Wu Xinming worked in Suzhou for a long time, in Fenhu for eight and a half years.",
                             chunk_id="a", rank=2)
    thirty = make_passage("Wu Xinming left Suzhou, where he had worked for nearly 30 years.", chunk_id="b")
    answer = ask(answerer, "How long did Wu Xinming work in Suzhou?", long_time, thirty)
    assert answer.text.startswith("Wu Xinming left Suzhou")


def test_a_figure_a_yes_no_question_checks_need_not_be_in_the_answer() -> None:
    """"Does the bridge carry 200,000 vehicles a day?" is answered by "90,000 vehicles"; "Line 3" names a line."""
    from bot.answerers import _checked_figures
    assert _checked_figures("Does the bridge carry 200,000 vehicles a day?") == ["200,000"]
    assert _checked_figures("Is 40% of it exported?") == ["40"]
    assert _checked_figures("Does Metro Line 3 use Canny elevators?") == []


def test_an_ordinal_in_digits_is_the_one_in_words() -> None:
    """"What did the 6th plenary meeting decide?" was declined: "6th" was not the "sixth" of the sentence."""
    assert ordinals("What did the 6th plenary meeting decide?") == ordinals("the sixth plenary meeting") == {"sixth"}
    assert ordinals_agree(ordinals("the 6th plenary meeting"), "held the sixth plenary meeting")
    assert ordinals("On November 8th it opened.") == frozenset()  # a day, not one of a series


def test_years_agree() -> None:
    """A year the question names is the one the sentence gives its fact for, when it gives one."""
    assert years_agree(frozenset({"2006"}), "As early as 1997, Jiaxing began to hold festivals.") is False
    assert years_agree(frozenset({"2006"}), "By 2006, Jiaxing had combined them, unlike in 1997.") is True
    assert years_agree(frozenset({"2006"}), "Jiaxing combined the festivals.") is True
    assert years_agree(frozenset(), "As early as 1997, Jiaxing began to hold festivals.") is True
    # A figure counting something is no year the question asks about.
    from bot.answerers import _ASKED_YEAR
    assert _ASKED_YEAR.findall("How many of the 2000 companies grew in 2023?") == ["2023"]


def test_relative_times() -> None:
    assert relative_times("What happened last year and this month?") == {("past", "year"), ("now", "month")}
    assert times_agree(relative_times("last year"), "In the past year it grew") is True
    assert times_agree(relative_times("last year"), "It will grow next year") is False
    assert times_agree(relative_times("last year"), "It grew this month") is True  # another span: no conflict
    assert times_agree(frozenset(), "It will grow next year") is True
    # A sentence dating its fact answers; "next year" is another clause's.
    assert times_agree(relative_times("last year"), "Exports grew 12% in 2023, and will keep the pace next year")


@pytest.mark.parametrize(("question", "abstains"), [
    ("Is Nantong south of the Yangtze River?", False),  # "north of the Yangtze River" answers it: no
    ("Is Nantong north of the Yangtze River?", False),
    ("Is Nantong east of the Yangtze River?", True),
    ("Is Nantong larger than the river?", True),  # no opposite of "larger" in the sentence
])
def test_a_yes_no_question_is_answered_by_the_sentence_saying_the_opposite(answerer: ExtractiveAnswerer,
                                                                          question: str, abstains: bool) -> None:
    text = "Nantong is the only city north of the Yangtze River in the metropolitan area."
    assert ask(answerer, question, make_passage(text)).abstained is abstains


@pytest.mark.parametrize(("question", "abstains"), [
    ("What is Canny?", False),
    ("What does VEP mean?", False),
    ("What is Tesla?", True),
    ("Why is Canny famous?", True),  # more than a name: the sentence must read close to it
])
def test_a_question_only_naming_something_is_answered_where_it_is_named_however_far_it_reads(
        answerer: ExtractiveAnswerer, question: str, abstains: bool) -> None:
    # MiniLM does not know such names: the sentence naming them reads far from the question.
    text = "In June, elevators from Suzhou Canny went into use. It explores the value of ecological products (VEP)."
    assert ask(answerer, question, make_passage(text, dense=0.15)).abstained is abstains


def test_tell_me_more_about_a_name_the_model_does_not_know(answerer: ExtractiveAnswerer) -> None:
    text = ("In June, elevators from Suzhou Canny went into use on Metro Line 11. Meng Qingdong, chief engineer of "
            "the company, said the cost was 450,000 yuan.")
    said = ["In June, elevators from Suzhou Canny went into use on Metro Line 11. [1]"]
    more = ask(answerer, "Tell me more", make_passage(text, dense=0.1), standalone_question="Tell me more (Canny)",
               said=said)
    assert not more.abstained and "450,000 yuan" in more.text and "June" not in more.text


def test_an_article_without_that_byline_gets_an_abstention_not_another_articles_byline() -> None:
    answerer = _fact_answerer()
    top = make_passage(BRIDGE)  # no reviewer
    other = make_passage("Cakes need flour.", chunk_id="p2", title="Cakes", rank=2, reviewer="Someone Else")
    draft = ask(answerer, "Who reviewed the article about the Sutong Bridge?", top, other)
    assert draft.abstained and draft.citations == []
    # The decline names the article and what it lacks, not "the articles do not answer".
    assert draft.text == f'"{top.title}" does not give its reviewer.'
    # The article asked about is the one naming what the question names, even when it ranks lower.
    named = ask(answerer, "Who reviewed the article about Cakes?", top, other)
    assert "Someone Else" in named.text and named.citations[0].chunk_id == "p2"


def test_an_outlet_the_article_tells_in_its_text_answers_when_its_byline_has_none() -> None:
    """"Which newspaper is running the interview series?" got "... does not give its outlet" (of another article):
    the text says which. A sentence naming no newspaper does not stand in for the byline."""
    answerer = _fact_answerer()
    series = make_passage("Liberation Daily and Shangguan News will launch a series of interviews with mayors. "
                          "The first interview was held in early summer.", dense=0.6)
    told = ask(answerer, "Which newspaper is running the interview series with mayors?", series)
    assert not told.abstained and "Liberation Daily" in told.citations[0].quote
    plain = make_passage("The series of interviews with mayors began in early summer.", dense=0.6)
    lacking = ask(answerer, "Which newspaper is running the interview series with mayors?", plain)
    assert lacking.abstained and lacking.text == f'"{plain.title}" does not give its outlet.'
    # A reporter the text mentions without a name is no author, nor is someone who "reported" in a speech; "social
    # media" and "government agencies" are no outlet.
    for text in ("When the reporter met Wu Xinming, he had just returned to Nantong.",
                 "Wu Xinming reported in his speech that Nantong is growing."):
        met = make_passage(text, dense=0.6)
        author = ask(answerer, "Who wrote the article?", met)
        assert author.abstained and author.text == f'"{met.title}" does not give its author.'
    for text in ("Government agencies will launch a series of interviews with mayors.",
                 "Social media users praised the series of interviews with mayors."):
        other = make_passage(text, dense=0.6)
        outlet = ask(answerer, "Which news agency is running the interview series with mayors?", other)
        assert outlet.abstained and "does not give its" in outlet.text


def test_a_follow_up_is_answered_by_a_sentence_with_its_own_words_not_the_last_turns(
        answerer: ExtractiveAnswerer) -> None:
    text = ("Huangyan has three golden business cards: oranges, molds and history. "
            "Today Huangyan is an important component of the green industry chain.")
    passage = make_passage(text, title="")
    standalone = "What is it an important component of? (Huangyan; three golden business cards)"
    draft = ask(answerer, "What is it an important component of?", passage, standalone_question=standalone)
    assert draft.text == "Today Huangyan is an important component of the green industry chain. [1]"
    # When no sentence on the subject has the follow-up's own words ("position" for "minister"), none is required.
    minister = make_passage("Wang Congde, the young minister of Dali Temple, moved from Hangzhou to Ningxi.",
                            chunk_id="p2", title="")
    draft = ask(answerer, "What was his position?", minister,
                standalone_question="What was his position? (Wang Congde; Hangzhou; Ningxi)")
    assert "young minister" in draft.text


def test_introduced_people_are_named_with_what_they_are() -> None:
    text = "Ningxi Zao Shao, in fact, is related to Wang Congde, the young minister of Dali Temple."
    assert introduced_people(text) == ["Wang Congde"]
    assert introduced_people("Li Qiang, a villager, brews it.") == ["Li Qiang"]
    # A title further on belongs to someone else.
    assert introduced_people("Ningxi Zao Shao, a wine that the former head of the county praised, is old.") == []


@pytest.mark.parametrize(("question", "abstains"), [
    ("Which is the largest of the 19 cooperation parks?", True),
    ("How many cooperation parks have they built?", False),
    # ... said in other words: the oldest bridge is the first one.
    ("When did the oldest bridge in Nantong open?", False),
    ("When did the newest bridge in Nantong open?", True),
    # "As high as" is a highest, and a largest number.
    ("What was the highest daily traffic?", False),
    ("What is the largest number of vehicles a day?", False),
])
def test_a_superlative_the_question_asks_with_must_be_told(answerer: ExtractiveAnswerer, question: str,
                                                           abstains: bool) -> None:
    """"Which is the largest of the 19 cooperation parks?" was answered by the sentence counting them."""
    text = ("Nantong, Shanghai and Southern Jiangsu have jointly built 19 cooperation parks in all. On June 30, 2008, "
            "the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic. Its daily traffic "
            "has exceeded 90,000 vehicles, and as high as 130,000 vehicles during holidays.")
    assert ask(answerer, question, make_passage(text, title="", chunk_id="parks")).abstained is abstains


@pytest.mark.parametrize(("question", "abstains"), [
    ("How big is the Shanghai Shibei High-tech City?", False),
    ("How big is the Beijing Shibei High-tech City?", True),  # no Beijing in the passage
])
def test_a_long_names_first_word_may_be_anywhere_in_the_passage(answerer: ExtractiveAnswerer, question: str,
                                                                abstains: bool) -> None:
    """"How big is the Shanghai Shibei High-tech City?" was declined: the sentence giving its size says "Shibei
    High-tech City", and "Shanghai" is two sentences back."""
    text = ("For example, the Shanghai Shibei High-tech City is a vivid case of win-win. It has grown for ten years. "
            "Shibei High-tech City is only 5.2 square kilometers, but it has attracted nearly 300 companies.")
    assert ask(answerer, question, make_passage(text, title="", chunk_id="shibei")).abstained is abstains


def test_a_time_is_no_predicate_a_yes_no_sentence_must_hold(answerer: ExtractiveAnswerer) -> None:
    """"Did Jiangsu's passenger numbers fall last year?" got "... which lasted eight and a half years": "year" was
    the word of the question the sentence held."""
    text = "Wu Xinming worked in Jiangsu's Fenhu zone for eight and a half years."
    assert ask(answerer, "Did Jiangsu's passenger numbers fall last year?",
               make_passage(text, title="", chunk_id="fenhu")).abstained
    assert not ask(answerer, "Did Wu Xinming work in Jiangsu for years?",
                   make_passage(text, title="", chunk_id="fenhu")).abstained


@pytest.mark.parametrize(("sentence", "speaker"), [
    ("Wu Xinming, Secretary of the Nantong Municipal Party Committee, said this",
     "Wu Xinming, Secretary of the Nantong Municipal Party Committee"),
    ("On November 30 last year, General Secretary Xi Jinping emphasized at the symposium that we should go on.",
     "General Secretary Xi Jinping"),
    ("Local friends said that Wang Congde moved from Hangzhou to Ningxi.", "Local friends"),
    ('The person from Ningxi Town said, "Ningxi Zai Shao is very famous."', "The person from Ningxi Town"),
    ("According to the relevant person in charge of Yixing City, the ownership is clear.",
     "the relevant person in charge of Yixing City"),
    ('"We will build a park," said Xu Xiaoyu, director of Jingjiang City.', "Xu Xiaoyu, director of Jingjiang City"),
    ("The plenary session pointed out that it is necessary to deepen the construction.", "The plenary session"),
    # "introduced", a speaker after the verb with a lowercase title, a name before a post and a place.
    ("Meng Qingdong, chief engineer of the company, introduced that the cost was 450,000 yuan.",
     "Meng Qingdong, chief engineer of the company"),
    ("The repairs will cost $12 million, said city engineer Maria Costa.", "city engineer Maria Costa"),
    ('"We will not sign a bad deal," said the trade commissioner.', "the trade commissioner"),
    ('Lin Zhengguo, Secretary of the Party Committee of Wangji Town, Siyang County, said that it is "Yunbei Center".',
     "Lin Zhengguo, Secretary of the Party Committee of Wangji Town, Siyang County"),
    # "According to" a plan names no speaker; the one who said so does.
    ("According to the plan, the quota will take effect in 2026, trade minister Karl Brandt said.",
     "trade minister Karl Brandt"),
    ("According to the deployment of the meeting, in the next step, we must devote ourselves.", None),
    ("The said project will open in June.", None),
    # Nobody speaks: "can be said", a rhetorical "who says", a plain report.
    ("It can be said to be both sides and it is necessary to make good use of it.", None),
    ('Zhejiang has "bad flavor", but who says there is no good Baijiu in Zhejiang?', None),
    ("On June 30, 2008, the Sutong Bridge was opened to traffic.", None),
    # Someone speaks, not named here.
    ("He said the park would open in May.", ""),
])
def test_speaker_in(sentence: str, speaker: str | None) -> None:
    assert speaker_in(sentence) == speaker


def test_speaker_of_reads_around_the_sentence() -> None:
    # The line after it names who spoke.
    assert speaker_of("We will build it.", after="Xu Xiaoyu, director of Jingjiang City, said.") == Attribution(
        "Xu Xiaoyu, director of Jingjiang City", "Xu Xiaoyu, director of Jingjiang City, said.", "after")
    # A quotation opened earlier in the paragraph and still open; once closed, the words are the article's own.
    assert speaker_of("It will open in May.", paragraph=['Xu said, "The park is big.']) == Attribution(
        "Xu", 'Xu said, "The park is big.', "before")
    assert speaker_of("It will open in May.", paragraph=['Xu said, "The park is big."']) is None
    # The interview paragraph it belongs to, however far back it opened.
    before = ["The reporter met him in Nanjing.", "\n\nWu Xinming: When participating, I listened. It is far.",
              "\n\nBecause it is separated by a river, it was slow."]
    assert speaker_of("On June 30, 2008, the bridge opened.", before=before) == Attribution(
        "Wu Xinming", "Wu Xinming: When participating, I listened.", "before")
    assert speaker_of("Wu Xinming: I have worked in Suzhou.") == Attribution(
        "Wu Xinming", "Wu Xinming: I have worked in Suzhou.", "sentence")
    # "Release time:May 14" is no speaker; "I" with nobody named is someone unnamed; a report is nobody's.
    assert speaker_of("It opened.", before=["Release time:May 14, 2024"]) is None
    assert speaker_of("I have worked in Suzhou for a long time.") == ""
    assert speaker_of("The bridge opened in 2008.") is None


def test_who_said_cites_the_sentence_naming_the_speaker_in_an_earlier_chunk() -> None:
    first = make_passage("The reporter met Wu Xinming.\n\nWu Xinming: When participating, I listened. It is far.",
                         chunk_id="ws-1", start=0, end=79)
    second = make_passage("It is far. On June 30, 2008, the bridge opened. It is busy.", chunk_id="ws-2", start=68,
                          end=128)
    said = who_said("On June 30, 2008, the bridge opened. [1]", second, [second, first])
    assert said is not None and said.passage is first
    assert said.attribution == Attribution("Wu Xinming", "Wu Xinming: When participating, I listened.", "before")
    assert first.text[said.start:said.end] == "Wu Xinming: When participating, I listened."
    # Not the passage quoted.
    assert who_said("Something else entirely.", second, [first]) is None
    # A report: the quoted sentence itself is cited.
    alone = make_passage("The bridge opened in 2008. It is busy.", chunk_id="ws-3")
    said = who_said("The bridge opened in 2008.", alone)
    assert said is not None and said.attribution is None
    assert alone.text[said.start:said.end] == "The bridge opened in 2008."


SUTONG_OPENED = "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic."


@pytest.mark.parametrize(("question", "quote", "verdict"), [
    ("Was the Sutong Bridge opened in 2008?", SUTONG_OPENED, "yes"),
    ("Is the Sutong Bridge in Nantong?", SUTONG_OPENED, "yes"),
    ("Was the Sutong Bridge opened in 2010?", SUTONG_OPENED, "no"),
    ("Is Wufangzhai a Jiaxing brand?", "Wufangzhai and Zhenzhen Laolao are also Jiaxing brands.", "yes"),
    # The place named, but not where it happened.
    ("Was the Huangyan conference held in Taizhou?",
     "Recently, the Taizhou Huangyan Conference was held in Shanghai.", None),
    # A word of the question the quote lacks: no verdict, the quote alone.
    ("Is the Sutong Bridge in Shanghai?", SUTONG_OPENED, None),
    ("Was the Sutong Bridge opened in July 2010?", SUTONG_OPENED, None),
    # Weighed, bounded or negated: the words being there do not settle it.
    ("Was the Sutong Bridge opened before 2010?", SUTONG_OPENED, None),
    ("Does the bridge carry more than 90,000 vehicles?", "The daily traffic has exceeded 90,000 vehicles.", None),
    ("Wasn't the Sutong Bridge opened in 2008?", SUTONG_OPENED, None),
    ("Did passenger numbers fall?", "Passenger numbers did not fall.", None),
    # Not a yes-no question.
    ("When was the Sutong Bridge opened?", SUTONG_OPENED, None),
    # A measure the quote gives otherwise, after a name; but not a bound the asked figure may be within.
    ("Is Shibei High-tech City 10 square kilometres?", "Shibei High-tech City is only 5.2 square kilometers.", "no"),
    ("Is Shibei High-tech City 5.2 square kilometers?", "Shibei High-tech City is only 5.2 square kilometers.",
     "yes"),
    ("Does the Sutong Bridge carry 50,000 vehicles a day?",
     "The Sutong Bridge daily traffic has exceeded 90,000 vehicles a day.", None),
    # The words all there, but not together: another year, figure, clause or post; a plan; several sentences.
    ("Was the bridge widened in 1962?", "The bridge opened in 1962 and was widened in 1985.", None),
    ("Was the lighthouse automated in 1874?", "The lighthouse was first lit in 1874, and was automated in 1986.",
     None),
    ("Did Jonas Keller score from a corner?",
     "Striker Jonas Keller scored twice, and defender Ali Hassan added a third from a corner.", None),
    ("Does the ferry carry 30 passengers?", "The ferry carries up to 220 passengers and 30 cars.", None),
    ("Is Xu Hong the mayor of Huai'an?", "Xu Hong, deputy mayor of Huai'an City, spoke.", None),
    ("Did the strike begin on February 19?", "The strike will begin on February 19 unless a new offer comes.", None),
    ("Is the Sutong Bridge in Nantong?", "Nantong is close to the river. The Sutong Bridge is in Nantong.", None),
])
def test_yes_or_no(question: str, quote: str, verdict: str | None) -> None:
    assert yes_or_no(question, quote) == verdict


def test_the_company_a_sentence_names_by_its_kind_is_the_one_the_sentence_before_names(
        answerer: ExtractiveAnswerer) -> None:
    text = ("In June, a new batch of elevators from Suzhou Canny was put into use on Metro Line 11. Meng Qingdong, "
            "chief engineer of the company, said the cost was 450,000 yuan.")
    draft = ask(answerer, "Which company is Meng Qingdong the chief engineer of?",
                make_passage(text, chunk_id="company-1", title="Elevators"))
    assert not draft.abstained and "Suzhou Canny" in draft.text and "chief engineer of the company" in draft.text
    # One [n] for the two sentences, which form one quote.
    assert draft.text.count("[1]") == 1 and len(draft.citations) == 1


@pytest.mark.parametrize(("question", "answers"), [
    ("Who is the fire chief?", True),
    ("Who is the head librarian?", False),  # another title
    ("Who is the mayor?", False),  # the deputy mayor is not the mayor
])
def test_who_is_the_title_is_answered_by_the_name_given_with_it(answerer: ExtractiveAnswerer, question: str,
                                                                answers: bool) -> None:
    # Far in meaning from the question (dense 0.2), but it names who holds the title.
    text = ("Fire chief Daniel Reyes said crews used two boats to reach residents. Deputy mayor Ann Lee thanked "
            "them.")
    draft = ask(answerer, question, make_passage(text, chunk_id="fire-1", title="Storm", dense=0.2))
    assert draft.abstained is not answers
    if answers:
        assert draft.text.startswith("Fire chief Daniel Reyes said")


def test_who_holds_a_title_of_a_body_needs_someone_named_by_it(answerer: ExtractiveAnswerer) -> None:
    """A sentence about the body, naming someone else, did answer "Who is Jiangsu's party secretary?"."""
    meeting = make_passage("The Jiangsu Provincial Party Committee held a plenary meeting, at which Wu Xinming made "
                           "an exchange speech.", chunk_id="role-1", title="Meeting")
    assert ask(answerer, "Who is Jiangsu's provincial party secretary?", meeting).abstained
    titled = make_passage("Xin Changxing, secretary of the Jiangsu Provincial Party Committee, presided over the "
                          "plenary meeting.", chunk_id="role-2", title="Meeting")
    assert "Xin Changxing" in ask(answerer, "Who is Jiangsu's provincial party secretary?", titled).text
