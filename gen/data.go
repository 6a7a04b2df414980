package gen

import "net/url"

// The generator's reference lists. They are Go tables rather than embedded
// files (STYLE.md prefers data files for lists that users may extend, such
// as search engines): nobody extends these, the compiler checks their shape,
// and the hot loop indexes them without parsing. TestDataIsCSVSafe checks that
// no string here needs CSV quoting, which is what lets the session writer
// append them unquoted.

// region is where a device is: the names Metrica's Logs API gives
// (regionCountry, regionArea, regionCity in English).
type region struct {
	country, area, city string
	weight              float64
	yandexLR            int // Yandex search's lr= region id, 0 when not used
	phone               int // index into phonePlans
	names               int // index into nameLists
}

var regions = []region{
	{"Russia", "Moscow", "Moscow", 22, 213, phoneRU, namesRU},
	{"Russia", "Saint Petersburg", "Saint Petersburg", 10, 2, phoneRU, namesRU},
	{"Russia", "Moscow Oblast", "Balashikha", 1.5, 10716, phoneRU, namesRU},
	{"Russia", "Moscow Oblast", "Khimki", 1.2, 10758, phoneRU, namesRU},
	{"Russia", "Moscow Oblast", "Podolsk", 1.2, 10747, phoneRU, namesRU},
	{"Russia", "Moscow Oblast", "Mytishchi", 1, 10740, phoneRU, namesRU},
	{"Russia", "Moscow Oblast", "Lyubertsy", 0.8, 10738, phoneRU, namesRU},
	{"Russia", "Leningrad Oblast", "Vsevolozhsk", 0.6, 0, phoneRU, namesRU},
	{"Russia", "Sverdlovsk Oblast", "Yekaterinburg", 3, 54, phoneRU, namesRU},
	{"Russia", "Novosibirsk Oblast", "Novosibirsk", 3, 65, phoneRU, namesRU},
	{"Russia", "Republic of Tatarstan", "Kazan", 2.5, 43, phoneRU, namesRU},
	{"Russia", "Republic of Tatarstan", "Naberezhnye Chelny", 0.6, 236, phoneRU, namesRU},
	{"Russia", "Nizhny Novgorod Oblast", "Nizhny Novgorod", 2.2, 47, phoneRU, namesRU},
	{"Russia", "Krasnodar Krai", "Krasnodar", 2.5, 35, phoneRU, namesRU},
	{"Russia", "Krasnodar Krai", "Sochi", 1, 239, phoneRU, namesRU},
	{"Russia", "Samara Oblast", "Samara", 2, 51, phoneRU, namesRU},
	{"Russia", "Samara Oblast", "Tolyatti", 0.8, 240, phoneRU, namesRU},
	{"Russia", "Rostov Oblast", "Rostov-on-Don", 2, 39, phoneRU, namesRU},
	{"Russia", "Chelyabinsk Oblast", "Chelyabinsk", 2, 56, phoneRU, namesRU},
	{"Russia", "Republic of Bashkortostan", "Ufa", 2, 172, phoneRU, namesRU},
	{"Russia", "Perm Krai", "Perm", 1.7, 50, phoneRU, namesRU},
	{"Russia", "Voronezh Oblast", "Voronezh", 1.7, 193, phoneRU, namesRU},
	{"Russia", "Krasnoyarsk Krai", "Krasnoyarsk", 1.7, 62, phoneRU, namesRU},
	{"Russia", "Omsk Oblast", "Omsk", 1.5, 66, phoneRU, namesRU},
	{"Russia", "Volgograd Oblast", "Volgograd", 1.5, 38, phoneRU, namesRU},
	{"Russia", "Tyumen Oblast", "Tyumen", 1.2, 55, phoneRU, namesRU},
	{"Russia", "Saratov Oblast", "Saratov", 1, 194, phoneRU, namesRU},
	{"Russia", "Primorsky Krai", "Vladivostok", 1, 75, phoneRU, namesRU},
	{"Russia", "Irkutsk Oblast", "Irkutsk", 1, 63, phoneRU, namesRU},
	{"Russia", "Khabarovsk Krai", "Khabarovsk", 0.8, 76, phoneRU, namesRU},
	{"Russia", "Yaroslavl Oblast", "Yaroslavl", 0.9, 16, phoneRU, namesRU},
	{"Russia", "Kaliningrad Oblast", "Kaliningrad", 0.8, 22, phoneRU, namesRU},
	{"Russia", "Tula Oblast", "Tula", 0.8, 15, phoneRU, namesRU},
	{"Belarus", "Minsk", "Minsk", 2.5, 157, phoneBY, namesRU},
	{"Belarus", "Gomel Region", "Gomel", 0.5, 155, phoneBY, namesRU},
	{"Kazakhstan", "Almaty", "Almaty", 1.5, 162, phoneKZ, namesRU},
	{"Kazakhstan", "Astana", "Astana", 1, 163, phoneKZ, namesRU},
	{"Uzbekistan", "Tashkent", "Tashkent", 0.6, 10335, phoneUZ, namesRU},
	{"Armenia", "Yerevan", "Yerevan", 0.4, 10262, phoneAM, namesRU},
	{"Georgia", "Tbilisi", "Tbilisi", 0.3, 10277, phoneGE, namesRU},
	{"Serbia", "Belgrade", "Belgrade", 0.3, 0, phoneRS, namesEN},
	{"Turkey", "Istanbul", "Istanbul", 0.3, 0, phoneTR, namesEN},
	{"Germany", "Berlin", "Berlin", 0.6, 0, phoneDE, namesEN},
	{"Germany", "Bavaria", "Munich", 0.3, 0, phoneDE, namesEN},
	{"United States", "New York", "New York", 0.3, 0, phoneUS, namesEN},
	{"United States", "California", "Los Angeles", 0.2, 0, phoneUS, namesEN},
	// Geo not determined: Metrica leaves the fields empty.
	{"", "", "", 0.8, 0, phoneRU, namesRU},
}

// phonePlan makes mobile numbers of one country: prefix then digits
// digits, written without a plus, as CRMs send them (SPEC.md §1).
type phonePlan struct {
	prefix string
	digits int
}

const (
	phoneRU = iota
	phoneBY
	phoneKZ
	phoneUZ
	phoneAM
	phoneGE
	phoneRS
	phoneTR
	phoneDE
	phoneUS
)

var phonePlans = []phonePlan{
	phoneRU: {"79", 9},    // 79XX XXX XX XX, 11 digits
	phoneBY: {"37529", 7}, // 375 29 XXX XX XX
	phoneKZ: {"77", 9},    // 77XX XXX XX XX
	phoneUZ: {"9989", 8},
	phoneAM: {"3749", 7},
	phoneGE: {"9955", 8},
	phoneRS: {"3816", 8},
	phoneTR: {"905", 9},
	phoneDE: {"4915", 9},
	phoneUS: {"12", 9},
}

// deviceKind is a device category with the operating systems seen on it.
type deviceKind struct {
	name   string // crmlink.DeviceCategory
	weight float64
	oses   []osKind
}

type osKind struct {
	name     string
	weight   float64
	browsers []weightedName
}

type weightedName struct {
	name   string
	weight float64
}

var deviceKinds = []deviceKind{
	{"desktop", 37, []osKind{
		{"Windows", 74, []weightedName{{"Chrome", 45}, {"Yandex Browser", 27}, {"Edge", 12}, {"Firefox", 9}, {"Opera", 7}}},
		{"macOS", 19, []weightedName{{"Safari", 45}, {"Chrome", 38}, {"Yandex Browser", 12}, {"Firefox", 5}}},
		{"Linux", 7, []weightedName{{"Chrome", 55}, {"Firefox", 45}}},
	}},
	{"mobile", 56, []osKind{
		{"Android", 62, []weightedName{{"Chrome", 50}, {"Yandex Browser", 24}, {"Samsung Internet", 16}, {"Opera", 5}, {"Firefox", 5}}},
		{"iOS", 38, []weightedName{{"Safari", 72}, {"Chrome", 14}, {"Yandex Browser", 14}}},
	}},
	{"tablet", 6, []osKind{
		{"Android", 45, []weightedName{{"Chrome", 60}, {"Yandex Browser", 25}, {"Samsung Internet", 15}}},
		{"iPadOS", 55, []weightedName{{"Safari", 80}, {"Chrome", 10}, {"Yandex Browser", 10}}},
	}},
	{"tv", 1, []osKind{
		{"Android TV", 40, []weightedName{{"Chrome", 1}}},
		{"Tizen", 35, []weightedName{{"Samsung Internet", 1}}},
		{"webOS", 25, []weightedName{{"LG Browser", 1}}},
	}},
}

// Names. Russian names come with their Latin transliteration, which the
// name-based email addresses use.
type givenName struct{ display, latin string }

type familyName struct{ male, female, latinMale, latinFemale string }

type nameList struct {
	male, female []givenName
	family       []familyName
	domains      []weightedName
}

const (
	namesRU = iota
	namesEN
)

var nameLists = []nameList{
	namesRU: {
		male: []givenName{
			{"Александр", "aleksandr"}, {"Дмитрий", "dmitry"}, {"Максим", "maksim"}, {"Сергей", "sergey"},
			{"Андрей", "andrey"}, {"Алексей", "aleksey"}, {"Артём", "artem"}, {"Илья", "ilya"},
			{"Кирилл", "kirill"}, {"Михаил", "mikhail"}, {"Никита", "nikita"}, {"Матвей", "matvey"},
			{"Роман", "roman"}, {"Егор", "egor"}, {"Арсений", "arseniy"}, {"Иван", "ivan"},
			{"Денис", "denis"}, {"Евгений", "evgeny"}, {"Даниил", "daniil"}, {"Тимофей", "timofey"},
			{"Владимир", "vladimir"}, {"Павел", "pavel"}, {"Николай", "nikolay"}, {"Константин", "konstantin"},
			{"Олег", "oleg"}, {"Игорь", "igor"}, {"Виктор", "viktor"}, {"Антон", "anton"},
			{"Глеб", "gleb"}, {"Юрий", "yury"},
		},
		female: []givenName{
			{"Анна", "anna"}, {"Мария", "maria"}, {"Елена", "elena"}, {"Ольга", "olga"},
			{"Наталья", "natalya"}, {"Екатерина", "ekaterina"}, {"Анастасия", "anastasia"}, {"Татьяна", "tatyana"},
			{"Ирина", "irina"}, {"Юлия", "yulia"}, {"Дарья", "darya"}, {"Светлана", "svetlana"},
			{"Виктория", "viktoria"}, {"Ксения", "ksenia"}, {"Полина", "polina"}, {"Алина", "alina"},
			{"Софья", "sofya"}, {"Марина", "marina"}, {"Валерия", "valeria"}, {"Вероника", "veronika"},
			{"Кристина", "kristina"}, {"Евгения", "evgenia"}, {"Александра", "aleksandra"}, {"Людмила", "lyudmila"},
			{"Надежда", "nadezhda"},
		},
		family: ruFamilies(
			"Иванов ivanov", "Смирнов smirnov", "Кузнецов kuznetsov", "Попов popov", "Васильев vasilyev",
			"Петров petrov", "Соколов sokolov", "Михайлов mikhaylov", "Новиков novikov", "Фёдоров fedorov",
			"Морозов morozov", "Волков volkov", "Алексеев alekseev", "Лебедев lebedev", "Семёнов semenov",
			"Егоров egorov", "Павлов pavlov", "Козлов kozlov", "Степанов stepanov", "Николаев nikolaev",
			"Орлов orlov", "Андреев andreev", "Макаров makarov", "Никитин nikitin", "Захаров zakharov",
			"Зайцев zaytsev", "Соловьёв solovyev", "Борисов borisov", "Яковлев yakovlev", "Григорьев grigoryev",
			"Романов romanov", "Воробьёв vorobyev", "Сергеев sergeev", "Кузьмин kuzmin", "Фролов frolov",
			"Александров aleksandrov", "Дмитриев dmitriev", "Королёв korolev", "Гусев gusev", "Киселёв kiselev",
			"Ильин ilyin", "Максимов maksimov", "Поляков polyakov", "Сорокин sorokin", "Виноградов vinogradov",
			"Ковалёв kovalev", "Белов belov", "Медведев medvedev", "Антонов antonov", "Тарасов tarasov",
			"Жуков zhukov", "Баранов baranov", "Филиппов filippov", "Комаров komarov", "Давыдов davydov",
			"Беляев belyaev", "Герасимов gerasimov", "Богданов bogdanov", "Осипов osipov", "Сидоров sidorov",
		),
		domains: []weightedName{
			{"mail.ru", 30}, {"yandex.ru", 25}, {"gmail.com", 22}, {"ya.ru", 5}, {"rambler.ru", 4},
			{"bk.ru", 4}, {"icloud.com", 4}, {"inbox.ru", 3}, {"list.ru", 3},
		},
	},
	namesEN: {
		male: []givenName{
			{"James", "james"}, {"John", "john"}, {"Michael", "michael"}, {"David", "david"},
			{"Thomas", "thomas"}, {"Daniel", "daniel"}, {"Lukas", "lukas"}, {"Felix", "felix"},
			{"Jonas", "jonas"}, {"Paul", "paul"}, {"Mark", "mark"}, {"Stefan", "stefan"},
		},
		female: []givenName{
			{"Emma", "emma"}, {"Olivia", "olivia"}, {"Sophia", "sophia"}, {"Mia", "mia"},
			{"Laura", "laura"}, {"Julia", "julia"}, {"Lena", "lena"}, {"Emily", "emily"},
			{"Sarah", "sarah"}, {"Hannah", "hannah"},
		},
		family: []familyName{
			{"Smith", "Smith", "smith", "smith"}, {"Johnson", "Johnson", "johnson", "johnson"},
			{"Williams", "Williams", "williams", "williams"}, {"Brown", "Brown", "brown", "brown"},
			{"Jones", "Jones", "jones", "jones"}, {"Miller", "Miller", "miller", "miller"},
			{"Davis", "Davis", "davis", "davis"}, {"Wilson", "Wilson", "wilson", "wilson"},
			{"Müller", "Müller", "mueller", "mueller"}, {"Schmidt", "Schmidt", "schmidt", "schmidt"},
			{"Schneider", "Schneider", "schneider", "schneider"}, {"Fischer", "Fischer", "fischer", "fischer"},
			{"Weber", "Weber", "weber", "weber"}, {"Meyer", "Meyer", "meyer", "meyer"},
			{"Wagner", "Wagner", "wagner", "wagner"}, {"Becker", "Becker", "becker", "becker"},
			{"Hoffmann", "Hoffmann", "hoffmann", "hoffmann"}, {"Jovanović", "Jovanović", "jovanovic", "jovanovic"},
			{"Yılmaz", "Yılmaz", "yilmaz", "yilmaz"}, {"Kaya", "Kaya", "kaya", "kaya"},
		},
		domains: []weightedName{
			{"gmail.com", 45}, {"outlook.com", 15}, {"yahoo.com", 12}, {"icloud.com", 10},
			{"gmx.de", 10}, {"web.de", 8},
		},
	},
}

// ruFamilies expands "Иванов ivanov" into the male and female forms.
func ruFamilies(pairs ...string) []familyName {
	out := make([]familyName, len(pairs))
	for i, p := range pairs {
		var cyr, lat string
		for j := 0; j < len(p); j++ {
			if p[j] == ' ' {
				cyr, lat = p[:j], p[j+1:]
				break
			}
		}
		out[i] = familyName{cyr, cyr + "а", lat, lat + "a"}
	}
	return out
}

// product is an item of the shop's catalogue; prices in kopecks.
type product struct {
	name     string
	slug     string
	category int // index into categories
	price    int64
	weight   float64
}

var categories = []string{
	"smartphones", "audio", "computers", "tablets", "smart-home",
	"kitchen", "home-appliances", "accessories", "wearables", "beauty",
}

var catalogue = []product{
	{"Смартфон Galaxy A55", "galaxy-a55", 0, 3899000, 3},
	{"Смартфон Redmi Note 13", "redmi-note-13", 0, 2199000, 4},
	{"Смартфон iPhone 15", "iphone-15", 0, 7999000, 2},
	{"Наушники беспроводные", "tws-earbuds", 1, 499000, 8},
	{"Наушники накладные", "on-ear-headphones", 1, 799000, 3},
	{"Умная колонка", "smart-speaker", 4, 799000, 4},
	{"Ноутбук 15.6 дюйма", "laptop-15", 2, 5499000, 2},
	{"Монитор 27 дюймов", "monitor-27", 2, 2199000, 2},
	{"Клавиатура механическая", "mechanical-keyboard", 2, 649000, 3},
	{"Мышь беспроводная", "wireless-mouse", 2, 149000, 6},
	{"Планшет 11 дюймов", "tablet-11", 3, 2999000, 2},
	{"Электронная книга", "ebook-reader", 3, 1199000, 2},
	{"Робот-пылесос", "robot-vacuum", 6, 2499000, 3},
	{"Пылесос вертикальный", "stick-vacuum", 6, 1599000, 2},
	{"Чайник электрический", "electric-kettle", 5, 299000, 6},
	{"Кофемашина капсульная", "capsule-coffee-machine", 5, 1299000, 2},
	{"Кофемолка", "coffee-grinder", 5, 329000, 2},
	{"Блендер", "blender", 5, 549000, 3},
	{"Мультиварка", "multicooker", 5, 749000, 3},
	{"Утюг", "iron", 6, 449000, 3},
	{"Фен", "hair-dryer", 9, 399000, 4},
	{"Электрическая зубная щётка", "electric-toothbrush", 9, 399000, 4},
	{"Фитнес-браслет", "fitness-band", 8, 349000, 4},
	{"Смарт-часы", "smart-watch", 8, 1299000, 3},
	{"Чехол для смартфона", "phone-case", 7, 79000, 9},
	{"Защитное стекло", "screen-protector", 7, 59000, 8},
	{"Зарядное устройство 65 Вт", "charger-65w", 7, 249000, 6},
	{"Кабель USB-C", "usb-c-cable", 7, 59000, 9},
	{"Внешний аккумулятор 20000 мАч", "power-bank-20000", 7, 299000, 6},
	{"Карта памяти 128 ГБ", "microsd-128", 7, 129000, 5},
	{"Внешний SSD 1 ТБ", "external-ssd-1tb", 2, 899000, 2},
	{"Роутер Wi-Fi 6", "router-wifi-6", 4, 599000, 3},
	{"Умная лампа", "smart-bulb", 4, 99000, 5},
	{"Весы кухонные", "kitchen-scale", 5, 99000, 4},
	{"Удлинитель 5 м", "extension-cord", 7, 89000, 4},
	{"Батарейки AA 8 шт", "batteries-aa-8", 7, 49000, 5},
}

var blogPosts = []string{
	"kak-vybrat-naushniki", "robot-pylesos-rejting", "luchshie-smartfony-do-30000",
	"kak-vybrat-noutbuk-dlya-ucheby", "umnyj-dom-s-nulya", "obzor-smart-chasov",
	"kofemashina-ili-kofevarka", "chto-podarit-na-novyj-god",
}

var promos = []string{"black-friday", "new-year-sale", "back-to-school", "cyber-monday", "spring-sale"}

// Ad campaigns and keywords.
var campaigns = []string{
	"brand_search", "search_generic_msk", "search_generic_regions", "rsya_retargeting",
	"smart_banners", "shopping_feed", "black_friday", "master_campaign",
}

var searchQueries = encodeQueries(
	"купить беспроводные наушники", "робот пылесос отзывы", "смартфон недорого",
	"интернет магазин электроники", "galaxy a55 цена", "умная колонка купить",
	"чайник электрический", "ноутбук для учебы", "смарт часы женские",
	"кофемашина капсульная купить", "зарядка 65w usb c", "монитор 27 дюймов 2k",
	"shop example", "внешний ssd 1tb", "фен для волос купить в москве",
)

// encodeQueries returns the queries escaped for a URL query string.
func encodeQueries(qs ...string) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = url.QueryEscape(q)
	}
	return out
}

// Referring sites by traffic source kind, as full URLs or URL prefixes
// followed by generated paths.
var referralSites = []string{
	"https://www.kp.ru/daily/", "https://habr.com/ru/articles/", "https://www.avito.ru/",
	"https://irecommend.ru/content/", "https://otzovik.com/reviews/", "https://2gis.ru/moscow/firm/",
	"https://www.drive2.ru/l/", "https://vc.ru/tech/", "https://www.ixbt.com/news/",
	"https://4pda.to/forum/index.php?showtopic=",
}

var partnerSources = []string{"cashback_service", "partner_blog", "price_aggregator", "coupon_site"}

var mailers = []string{"newsletter", "unisender", "sendpulse", "mindbox"}

var webmails = []string{"https://e.mail.ru/", "https://mail.yandex.ru/", "https://mail.google.com/"}

var socialReferrers = []weightedName{
	{"https://vk.com/", 30}, {"https://vk.com/away.php", 10}, {"https://m.vk.com/", 15},
	{"https://ok.ru/", 18}, {"https://www.youtube.com/", 12}, {"https://www.facebook.com/", 4},
	{"https://www.instagram.com/", 4}, {"https://www.pinterest.com/", 3}, {"https://www.tiktok.com/", 4},
}

var messengerReferrers = []weightedName{
	{"https://t.me/", 60}, {"https://web.telegram.org/", 20}, {"https://web.whatsapp.com/", 20},
}

var telegramChannels = []string{"techdeals", "gadgetnews", "skidki_msk", "shop_example", "obzory"}

var recommendReferrers = []string{"https://dzen.ru/a/", "https://dzen.ru/", "https://zen.yandex.ru/media/"}

// goalNames are extra goals a simple order can carry, with an optional price.
var goalNames = []string{"pay_cash:200", "pay_card", "pickup", "branch_1", "branch_2", "delivery_courier:350", "gift_wrap:150"}
